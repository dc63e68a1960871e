// Package portal serves the developer portal: each organisation's portal at
// /portal/{org_slug}, with `/` and `/portal` showing the first organisation's.
//
// Pages: the catalogue of the PUBLISHED, PROTOTYPED and DEPRECATED APIs (search,
// tag filter, cursor pagination); an API page with the reference rendered from
// its OpenAPI document, its Markdown documents, code samples built from the spec
// with the gateway URL, the try-it console (web/portal/tryit.js) and the
// subscribe form; and, for signed-in developers, their applications (OAuth
// clients: secrets and API keys shown once, "get a token"), subscriptions and
// usage. Everything a developer reaches is scoped to their organisation and, for
// applications, keys and subscriptions, to themselves.
//
// portal imports account, catalog, access, oauth and platform (DESIGN §2 line
// 10); analytics reaches it through the UsageReader interface it declares.
package portal
