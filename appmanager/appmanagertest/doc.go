// Package appmanagertest is the conformance suite for appmanager.Manager
// drivers. Every first-party driver runs it, and a host that writes its own
// Manager should run it too:
//
//	func TestConformance(t *testing.T) {
//		appmanagertest.Run(t, appmanagertest.Harness{
//			New: func(t *testing.T) appmanager.Manager {
//				table := uniqueTableName(t) // storage no other test uses
//				m, err := mydriver.New(ctx, db, &mydriver.Options{TableName: table, CreateTable: true})
//				if err != nil {
//					t.Fatal(err)
//				}
//				t.Cleanup(func() { dropTable(table) })
//				return m
//			},
//			RequireWriter: true,
//		})
//	}
//
// The suite checks that every App field round-trips by id and by key (all
// limits, features, allowed origins, webhooks with filters and headers);
// that absent ids and keys give errors matching appmanager.ErrNotFound, and
// that keys and ids compare exactly; that disabled apps are returned with
// Enabled false; that returned apps are the caller's to modify; that
// concurrent readers get correct answers (run it with -race); that a
// cancelled context gives an error that is neither a hit nor ErrNotFound;
// and, when the Manager implements them, the behaviour of
// appmanager.Lister and appmanager.Writer, including ErrExists and
// ErrNotFound.
//
// Subtests run in parallel, each on storage of its own from Harness.New.
package appmanagertest
