// Package config turns the process environment into a typed, validated Config.
//
// It is the only package that reads the environment (CONTRACT.md §2). It imports
// nothing of Portico's own. A bad value is reported as one error naming the variable,
// so the process can stop at start with a single line an operator can act on.
package config
