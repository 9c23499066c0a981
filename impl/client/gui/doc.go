// Package gui is the graphical client: it serves a page to the user's browser on a loopback
// HTTP listener and lets it operate a Blindpost client that runs in this process. The page only
// displays and sends commands; keys, cryptography and the relay connection stay here.
//
// Page and process speak the driver protocol of spec Appendix A over one WebSocket, one line
// per text message (package driver, with the optional commands and events of spec A.5 that a
// person needs: status, create_identity, unlock, trust_server, verification, mark_verified,
// peer_keys; users, connection, relay_error). The listener is a security boundary (spec
// Appendix D, GUI-1 to GUI-8): loopback only, a one-time token exchanged for an HttpOnly
// SameSite=Strict cookie, Host and Origin checks, and a strict Content-Security-Policy on every
// response. The assets (assets/) are plain HTML, CSS and ES modules, embedded, with no build
// step and nothing fetched from anywhere else.
package gui
