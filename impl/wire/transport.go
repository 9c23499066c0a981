package wire

// Subprotocol is the WebSocket subprotocol that carries the messages of this codec: a client
// offers it, a server selects it and refuses an upgrade that does not offer it (spec §4.2
// [WS-1]). The schemas describe the messages, not their transport, so it is written here, once.
const Subprotocol = "blindpost.v1"
