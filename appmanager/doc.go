// Package appmanager defines how a sockudo server finds applications: the
// App type with its credentials and per-app settings, the Manager interface
// that every backend implements, and ErrNotFound.
//
// Drivers live in subpackages (memory, postgres, mysql, dynamodb, scylla) so
// a host imports only the ones it uses. A host can write its own Manager and
// prove it with the conformance suite in appmanagertest.
//
// The server caches lookups itself, so a Manager should simply ask its
// backend each time it is called.
package appmanager
