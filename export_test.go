package justap

// DecodeResponse exposes the client's response decoder to the external
// benchmarks, which measure the page decode the client really does.
var DecodeResponse = decodeResponse
