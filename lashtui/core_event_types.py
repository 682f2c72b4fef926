"""lash's core event types as a stored record holds them, as text, for the readers that look
at stored records without the models: `ls --json`'s reading of records (record_shape.py) compares a
record's `event_types` with them, and the repeated-key check (state.py `repeated_key`) steps
over them. Nearly every record declares exactly these, and they are two thirds of its text.

lashtui.model.record builds the same text from the models (`_CORE_RECORD_JSON`) and writes
it into every record that declares the core types only (`ProcessRecord.stored_json`);
tests/test_observed_json.py checks that the two are the same.
"""

CORE_EVENT_TYPES_JSON = (
    '[{"name":"process.cancel_requested","payload_schema":{"schema":{}},"semantics":{}},'
    '{"name":"process.waiting","payload_schema":{"schema":{}},"semantics":{}},'
    '{"name":"process.resumed","payload_schema":{"schema":{}},"semantics":{}},'
    '{"name":"process.completed","payload_schema":{"schema":{}},"semantics":{"terminal":'
    '{"state":"completed","await_output":{"pointer":"/await_output"}}}},'
    '{"name":"process.failed","payload_schema":{"schema":{}},"semantics":{"terminal":'
    '{"state":"failed","await_output":{"pointer":"/await_output"}}}},'
    '{"name":"process.cancelled","payload_schema":{"schema":{}},"semantics":{"terminal":'
    '{"state":"cancelled","await_output":{"pointer":"/await_output"}}}},'
    '{"name":"process.abandoned","payload_schema":{"schema":{}},"semantics":{"terminal":'
    '{"state":"abandoned","await_output":{"pointer":"/await_output"}}}}]'
)
