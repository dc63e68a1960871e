// Package catalog owns what an organisation offers through the gateway: APIs and
// their versions, the lifecycle state machine (WSO2's graph), OpenAPI import and
// export, operations with their scopes and limits, Markdown documents, and the
// rate-limit and billing tiers.
//
// Tables: api_contexts, apis, api_operations, api_documents, tiers. Lifecycle
// history is written to account's audit_events. Every write that changes what the
// gateway sees bumps the config version in the same transaction. Backend
// credentials are sealed with the keyring's "backend-credentials" key.
//
// catalog imports account, store, config and platform only (DESIGN §2).
package catalog
