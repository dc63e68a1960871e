// Package transform compiles an API's rewrite rules — headers, query parameters,
// path prefix, JSON body fields, JSON↔XML — once per snapshot, and applies them
// to requests on the way to the backend and to responses on the way back, so the
// API published can differ from the backend's own interface. Bodies are read only
// when a body rule applies, and never beyond MaxBody.
//
// transform imports the standard library and mxj (XML↔JSON) only.
package transform
