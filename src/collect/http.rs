//! TODO: blocking HTTP/1.1 Engine API client
