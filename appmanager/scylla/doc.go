// Package scylla is an appmanager.Manager on ScyllaDB or Apache Cassandra
// (github.com/gocql/gocql), using Sockudo's layout so that an existing
// Sockudo keyspace works unchanged: keyspace "sockudo", table
// "applications" with "id" as primary key, a secondary index on "key",
// limits as int columns and JSON documents as text. It also implements
// appmanager.Lister and appmanager.Writer.
//
// The host owns the session and passes it in; the consistency of reads and
// writes is the session's:
//
//	cluster := gocql.NewCluster("10.0.0.1:9042", "10.0.0.2:9042")
//	session, _ := cluster.CreateSession()
//	m, err := scylla.New(ctx, session, &scylla.Options{CreateTable: true})
//
// A row's "policy" JSON, when present, wins over its flat columns (as in
// Sockudo). Writes store id, key, secret, enabled and the policy, as
// Sockudo does, with lightweight transactions (IF NOT EXISTS, IF EXISTS)
// so that CreateApp and UpdateApp detect a taken or missing id. CQL cannot
// make "key" unique: CreateApp and UpdateApp check it first, so two
// concurrent writers can still give two apps one key; such a key then
// fails lookups with an error rather than picking one app.
package scylla
