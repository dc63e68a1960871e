package catalog

// BigSpec exposes the benchmark's spec generator to the external tests.
var BigSpec = bigSpec
