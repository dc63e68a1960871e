// Package app is the composition root: configuration → logger → store → modules →
// one HTTP listener, and the lifecycle around them (migrations at start, first
// admin, background janitors, graceful shutdown). It is the only package that
// knows every module; modules know only the interfaces they declare.
package app
