// Package heroku sells Portico as a Heroku add-on (CONTRACT §8, heroku-addon.md):
// the partner API at /heroku/resources (provision, plan change, deprovision,
// behind HTTP Basic with HEROKU_ADDON_ID / HEROKU_ADDON_PASSWORD), single sign-on
// at /heroku/sso, the durable jobs that finish provisioning through Heroku's
// identity service and Platform API, and the add-on manifest printed by
// `portico heroku manifest`.
//
// Provisioning gives each add-on resource its own organisation and a published
// gateway API in front of the Heroku app, reached at PORTICO_URL, which sends the
// app PORTICO_BACKEND_SECRET in X-Portico-Secret. Plans map to the built-in tiers
// (test → Bronze, starter → Silver, pro → Gold); pro provisions asynchronously.
//
// Tables: heroku_resources, heroku_jobs, heroku_sso_users, heroku_sso_replays.
// Platform API tokens and the stored first answer are sealed with the keyring's
// "heroku-tokens" key. Partner-API errors use Heroku's shape {"message": "..."}.
//
// heroku imports account, catalog, store, config and platform (DESIGN §2 line 10);
// herokutest is a fake Heroku for tests and imports only the standard library.
package heroku
