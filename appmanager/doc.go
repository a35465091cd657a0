// Package appmanager defines how a sockudo server finds applications: the
// App type with its credentials and per-app settings, the Manager interface
// that every backend implements, and the errors they share (ErrNotFound,
// ErrExists, ErrInvalidApp with its *InvalidAppError).
//
// A Manager may also implement the optional Lister (enumerate apps) and
// Writer (create, update, delete apps) interfaces; a host finds them with a
// type assertion.
//
// Apps decode from Sockudo's two JSON shapes, flat and "policy" (see
// App.UnmarshalJSON). Record is the storage form of Sockudo's tables, shared
// by the SQL, DynamoDB and CQL drivers so that all of them read and write
// rows as Sockudo does.
//
// Drivers live in subpackages (memory, postgres, mysql, dynamodb, scylla) so
// a host imports only the ones it uses. A host can write its own Manager and
// prove it with the conformance suite in appmanagertest.
//
// The server caches lookups itself, so a Manager should simply ask its
// backend each time it is called.
package appmanager
