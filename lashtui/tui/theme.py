"""The dashboard's own theme: high contrast, for bright rooms, projectors and low vision.

Themes are the one place colours are named; everything else in the app uses the theme's
variables (`$primary`, `$error`, ...) from `styles/*.tcss`, so this theme restyles every
view. Pure black and white with saturated accents, each chosen to stay distinct for the
common colour-vision deficiencies (yellow/cyan/magenta rather than red/green alone).
"""

from __future__ import annotations

from textual.theme import Theme

HIGH_CONTRAST = Theme(
    name="lashtui-high-contrast",
    primary="#FFFF00",
    secondary="#00FFFF",
    accent="#FF00FF",
    warning="#FFAF00",
    error="#FF5F5F",
    success="#00FF5F",
    foreground="#FFFFFF",
    background="#000000",
    surface="#000000",
    panel="#1C1C1C",
    boost="#303030",
    dark=True,
    luminosity_spread=0.0,
    text_alpha=1.0,
    variables={
        "footer-key-foreground": "#FFFF00",
        "block-cursor-background": "#FFFF00",
        "block-cursor-foreground": "#000000",
        "block-cursor-text-style": "bold",
        "datatable--even-row": "#000000",
        "input-selection-background": "#FFFF00 40%",
    },
)
