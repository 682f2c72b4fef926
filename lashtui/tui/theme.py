"""The dashboard's theme variables and its own theme: high contrast, for bright rooms,
projectors and low vision.

Themes are the one place colours are named; everything else in the app uses the theme's
variables (`$primary`, `$error`, `$state-failed`, ...) from `styles/*.tcss`, so a theme
restyles every view.

Each process state, a lapsed lease, a "silent, not dead" row and a row with no state have a
variable for their colour (`$state-<name>`) and one for their text style
(`$state-<name>-style`). A theme may set them in its `variables`; any theme that does not
(Textual's own) gets them from its own colours (`state_defaults`), so they follow the theme
and no colour is named here for them.
The high-contrast theme names its own: pure black and white with saturated accents, each
chosen to stay distinct for the common colour-vision deficiencies (yellow/cyan/magenta
rather than red/green alone), and the states that need the operator (failed, abandoned,
silent, lapsed) told apart by bold, reverse and underline too, not by colour alone.
"""

from __future__ import annotations

from textual.theme import Theme

# The states an operator tells apart, then the conditions that must stand out.
STATES = ("running", "waiting", "completed", "failed", "cancelled", "abandoned")
MARKS = ("lapsed", "silent", "nostate")  # (`nostate`: a status column holding no state)

# For a theme that does not set them: (one of the theme's generated colours, text style).
_DEFAULTS = {
    "running": ("text-primary", "none"),
    "waiting": ("text-warning", "none"),
    "completed": ("text-success", "none"),
    "failed": ("text-error", "bold"),
    "cancelled": ("foreground-darken-3", "italic"),
    "abandoned": ("text-error", "bold reverse"),
    "lapsed": ("text-warning", "bold"),
    "silent": ("text-warning", "bold reverse"),
    "nostate": ("text-warning", "italic reverse"),
}


def state_defaults(theme: Theme) -> dict[str, str]:
    """`$state-<name>` and `$state-<name>-style` for every state and mark, from `theme`'s
    own generated colours (a theme's `variables` override them)."""
    colours = theme.to_color_system().generate()
    variables: dict[str, str] = {}
    for name, (colour, style) in _DEFAULTS.items():
        variables[f"state-{name}"] = colours[colour]
        variables[f"state-{name}-style"] = style
    return variables


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
        "state-running": "#00FFFF",
        "state-running-style": "none",
        "state-waiting": "#FFFF00",
        "state-waiting-style": "none",
        "state-completed": "#00FF5F",
        "state-completed-style": "none",
        "state-failed": "#FF5F5F",
        "state-failed-style": "bold reverse",
        "state-cancelled": "#FFFFFF",
        "state-cancelled-style": "italic",
        "state-abandoned": "#FF00FF",
        "state-abandoned-style": "bold reverse",
        "state-lapsed": "#FFAF00",
        "state-lapsed-style": "bold underline",
        "state-silent": "#FFAF00",
        "state-silent-style": "bold reverse",
        "state-nostate": "#FF00FF",
        "state-nostate-style": "italic reverse",
    },
)
