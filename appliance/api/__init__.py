"""The public contract that REST (`web/`) and the WebSocket (`realtime/`) share: request
models, the shapes of replies and events, the error mapping, and who is calling."""
