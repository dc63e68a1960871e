// Package account owns organisations, users and their roles, password hashing,
// browser sessions and personal access tokens, and the login, sign-up and user
// management the management API and the UIs expose.
//
// Tables: organizations, users, sessions, api_tokens, audit_events (audit rows are
// written here for every module through Audit). account imports config, platform
// and store. Other modules learn who is calling through Principal in the context.
package account
