package scylla

import (
	"crypto/sha256"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"net"
	"sort"
	"strings"
	"sync"
	"testing"

	"github.com/datastax/go-cassandra-native-protocol/datatype"
	"github.com/datastax/go-cassandra-native-protocol/frame"
	"github.com/datastax/go-cassandra-native-protocol/message"
	"github.com/datastax/go-cassandra-native-protocol/primitive"
)

// fakeCQL is an in-process server of the CQL native protocol (v4) that
// answers the driver's handshake and system queries and exactly the
// statements a Manager issues (from newStatements), over a map-backed
// table. It does not parse CQL: any other statement is an error, so a
// change to the driver's statements fails the tests until the fake learns
// it.
type fakeCQL struct {
	ln     net.Listener
	stmts  statements
	codec  frame.Codec
	byText map[string]*fakeStmt

	mu         sync.Mutex
	tableReady bool
	hasPolicy  bool
	rows       map[string]map[string][]byte // id -> column -> encoded value
	prepared   map[string]*fakeStmt         // prepared id -> statement
	unexpected []string
	conns      map[net.Conn]struct{}
}

// fakeStmt is one statement the fake understands.
type fakeStmt struct {
	text   string
	vars   []col                                           // bound variables
	result []col                                           // result columns of a SELECT
	run    func(f *fakeCQL, args [][]byte) message.Message // called with f.mu held
}

type col struct {
	name string
	typ  datatype.DataType
}

// appColumns are the table's columns with their CQL types.
var appColumns = func() map[string]datatype.DataType {
	m := map[string]datatype.DataType{
		"id": datatype.Varchar, "key": datatype.Varchar, "secret": datatype.Varchar,
		"enabled": datatype.Boolean, "enable_client_messages": datatype.Boolean,
		"enable_user_authentication": datatype.Boolean, "enable_watchlist_events": datatype.Boolean,
		"policy": datatype.Varchar, "webhooks": datatype.Varchar, "allowed_origins": datatype.Varchar,
	}
	for _, n := range []string{"max_connections", "max_backend_events_per_second", "max_client_events_per_second",
		"max_read_requests_per_second", "max_presence_members_per_channel", "max_presence_member_size_in_kb",
		"max_channel_name_length", "max_event_channels_at_once", "max_event_name_length",
		"max_event_payload_in_kb", "max_event_batch_size"} {
		m[n] = datatype.Int
	}
	return m
}()

func cols(names ...string) []col {
	out := make([]col, len(names))
	for i, n := range names {
		out[i] = col{n, appColumns[n]}
	}
	return out
}

// selectColumns are the columns of the driver's SELECTs, parsed from the
// constant they come from.
func selectColumns() []col {
	var names []string
	for _, c := range strings.Split(columns, ",") {
		names = append(names, strings.Trim(strings.TrimSpace(c), `"`))
	}
	return cols(names...)
}

func newFakeCQL(t *testing.T, stmts statements) *fakeCQL {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	f := &fakeCQL{
		ln: ln, stmts: stmts, codec: frame.NewCodec(),
		rows: make(map[string]map[string][]byte), prepared: make(map[string]*fakeStmt),
		conns: make(map[net.Conn]struct{}),
	}
	f.byText = make(map[string]*fakeStmt)
	for _, s := range f.statements() {
		f.byText[s.text] = s
	}
	go f.serve()
	t.Cleanup(func() {
		ln.Close()
		f.mu.Lock()
		for c := range f.conns {
			c.Close()
		}
		f.mu.Unlock()
		if u := f.unexpectedStatements(); len(u) > 0 {
			t.Errorf("the fake CQL server got statements it does not know: %q", u)
		}
	})
	return f
}

func (f *fakeCQL) addr() string { return f.ln.Addr().String() }

func (f *fakeCQL) unexpectedStatements() []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]string(nil), f.unexpected...)
}

// putRow stores a row directly, as another writer (Sockudo, cqlsh) would.
// Values are strings (text), int32 (int), bool (boolean) or nil (NULL).
func (f *fakeCQL) putRow(values map[string]any) {
	r := make(map[string][]byte)
	for k, v := range values {
		r[k] = encode(v)
	}
	f.mu.Lock()
	f.rows[values["id"].(string)] = r
	f.mu.Unlock()
}

func encode(v any) []byte {
	switch v := v.(type) {
	case nil:
		return nil
	case string:
		return []byte(v)
	case int32:
		return binary.BigEndian.AppendUint32(nil, uint32(v))
	case bool:
		if v {
			return []byte{1}
		}
		return []byte{0}
	}
	panic(fmt.Sprintf("fakeCQL: cannot encode %T", v))
}

func applied(ok bool, extra []col, row map[string][]byte) message.Message {
	md := []*message.ColumnMetadata{{Keyspace: "ks", Table: "t", Name: "[applied]", Type: datatype.Boolean}}
	data := message.Row{encode(ok)}
	for _, c := range extra {
		md = append(md, &message.ColumnMetadata{Keyspace: "ks", Table: "t", Name: c.name, Type: c.typ})
		data = append(data, row[c.name])
	}
	return &message.RowsResult{Metadata: &message.RowsMetadata{ColumnCount: int32(len(md)), Columns: md}, Data: message.RowSet{data}}
}

func (f *fakeCQL) rowsOf(cs []col, rows []map[string][]byte) message.Message {
	md := make([]*message.ColumnMetadata, len(cs))
	for i, c := range cs {
		md[i] = &message.ColumnMetadata{Keyspace: "ks", Table: "t", Name: c.name, Type: c.typ}
	}
	var set message.RowSet
	for _, r := range rows {
		row := make(message.Row, len(cs))
		for i, c := range cs {
			row[i] = r[c.name]
		}
		set = append(set, row)
	}
	return &message.RowsResult{Metadata: &message.RowsMetadata{ColumnCount: int32(len(md)), Columns: md}, Data: set}
}

func invalid(msg string) message.Message { return &message.Invalid{ErrorMessage: msg} }

// sorted returns the rows matching keep, by id.
func (f *fakeCQL) sorted(keep func(map[string][]byte) bool) []map[string][]byte {
	var out []map[string][]byte
	for _, r := range f.rows {
		if keep(r) {
			out = append(out, r)
		}
	}
	sort.Slice(out, func(i, j int) bool { return string(out[i]["id"]) < string(out[j]["id"]) })
	return out
}

func (f *fakeCQL) statements() []*fakeStmt {
	all := selectColumns()
	ready := func(run func(f *fakeCQL, args [][]byte) message.Message) func(f *fakeCQL, args [][]byte) message.Message {
		return func(f *fakeCQL, args [][]byte) message.Message {
			if !f.tableReady {
				return invalid("unconfigured table applications")
			}
			return run(f, args)
		}
	}
	void := func(*fakeCQL, [][]byte) message.Message { return &message.VoidResult{} }
	s := f.stmts
	return []*fakeStmt{
		{text: s.createKeyspace, run: void},
		{text: s.createTable, run: func(f *fakeCQL, _ [][]byte) message.Message {
			f.tableReady, f.hasPolicy = true, true
			return &message.VoidResult{}
		}},
		{text: s.addPolicy, run: func(f *fakeCQL, _ [][]byte) message.Message {
			if f.hasPolicy {
				return invalid("Invalid column name policy because it conflicts with an existing column")
			}
			f.hasPolicy = true
			return &message.VoidResult{}
		}},
		{text: s.createIndex, run: ready(void)},
		{text: s.check, result: all, run: ready(func(f *fakeCQL, _ [][]byte) message.Message {
			rows := f.sorted(func(map[string][]byte) bool { return true })
			if len(rows) > 1 {
				rows = rows[:1]
			}
			return f.rowsOf(all, rows)
		})},
		{text: s.findByID, vars: cols("id"), result: all, run: ready(func(f *fakeCQL, a [][]byte) message.Message {
			return f.rowsOf(all, f.sorted(func(r map[string][]byte) bool { return string(r["id"]) == string(a[0]) }))
		})},
		{text: s.findByKey, vars: cols("key"), result: all, run: ready(func(f *fakeCQL, a [][]byte) message.Message {
			return f.rowsOf(all, f.sorted(func(r map[string][]byte) bool { return r["key"] != nil && string(r["key"]) == string(a[0]) }))
		})},
		{text: s.idsByKey, vars: cols("key"), result: cols("id"), run: ready(func(f *fakeCQL, a [][]byte) message.Message {
			return f.rowsOf(cols("id"), f.sorted(func(r map[string][]byte) bool { return r["key"] != nil && string(r["key"]) == string(a[0]) }))
		})},
		{text: s.list, result: all, run: ready(func(f *fakeCQL, _ [][]byte) message.Message {
			return f.rowsOf(all, f.sorted(func(map[string][]byte) bool { return true }))
		})},
		{text: s.insert, vars: cols("id", "key", "secret", "enabled", "policy"), run: ready(func(f *fakeCQL, a [][]byte) message.Message {
			if old, ok := f.rows[string(a[0])]; ok {
				return applied(false, all, old)
			}
			f.rows[string(a[0])] = map[string][]byte{"id": a[0], "key": a[1], "secret": a[2], "enabled": a[3], "policy": a[4]}
			return applied(true, nil, nil)
		})},
		{text: s.update, vars: cols("key", "secret", "enabled", "policy", "id"), run: ready(func(f *fakeCQL, a [][]byte) message.Message {
			r, ok := f.rows[string(a[4])]
			if !ok {
				return applied(false, nil, nil)
			}
			r["key"], r["secret"], r["enabled"], r["policy"] = a[0], a[1], a[2], a[3]
			return applied(true, nil, nil)
		})},
		{text: s.remove, vars: cols("id"), run: ready(func(f *fakeCQL, a [][]byte) message.Message {
			if _, ok := f.rows[string(a[0])]; !ok {
				return applied(false, nil, nil)
			}
			delete(f.rows, string(a[0]))
			return applied(true, nil, nil)
		})},
	}
}

// system answers the driver's own queries about the cluster, or returns nil.
func (f *fakeCQL) system(query string, local net.Addr) message.Message {
	q := strings.Join(strings.Fields(strings.ToLower(query)), " ")
	switch {
	case strings.HasPrefix(q, "select * from system.local"):
		return systemLocal(local)
	case strings.HasPrefix(q, "select schema_version from system.local"):
		md := []*message.ColumnMetadata{{Keyspace: "system", Table: "local", Name: "schema_version", Type: datatype.Uuid}}
		return &message.RowsResult{Metadata: &message.RowsMetadata{ColumnCount: 1, Columns: md}, Data: message.RowSet{{schemaVersion}}}
	case strings.HasPrefix(q, "select * from system.peers_v2"):
		return invalid("unconfigured table peers_v2")
	case strings.HasPrefix(q, "select * from system.peers"):
		return &message.RowsResult{Metadata: &message.RowsMetadata{ColumnCount: 0}, Data: message.RowSet{}}
	case q == "select * from system_schema.keyspaces":
		return &message.RowsResult{Metadata: &message.RowsMetadata{ColumnCount: 0}, Data: message.RowSet{}}
	case strings.HasPrefix(q, "select durable_writes, replication from system_schema.keyspaces"):
		// Gotcha: gocql asks for a keyspace's replication when it routes by
		// token; without an answer it waits until its timeout.
		md := []*message.ColumnMetadata{
			{Keyspace: "system_schema", Table: "keyspaces", Name: "durable_writes", Type: datatype.Boolean},
			{Keyspace: "system_schema", Table: "keyspaces", Name: "replication", Type: datatype.NewMap(datatype.Varchar, datatype.Varchar)},
		}
		return &message.RowsResult{Metadata: &message.RowsMetadata{ColumnCount: 2, Columns: md},
			Data: message.RowSet{{encode(true), encodeTextMap("class", "org.apache.cassandra.locator.SimpleStrategy", "replication_factor", "1")}}}
	}
	return nil
}

var (
	hostID        = []byte{0xC0, 0xD1, 0xD2, 0x1E, 0xBB, 0x01, 0x41, 0x96, 0x86, 0xDB, 0xBC, 0x31, 0x7B, 0xC1, 0x79, 0x6A}
	schemaVersion = []byte{0x5A, 0x11, 0x0C, 0x3E, 0x9B, 0x21, 0x4F, 0x0D, 0x8E, 0x57, 0x23, 0x61, 0x0A, 0x44, 0x19, 0x02}
)

func systemLocal(local net.Addr) message.Message {
	ip := local.(*net.TCPAddr).IP.To4()
	names := []struct {
		name string
		typ  datatype.DataType
		v    []byte
	}{
		{"key", datatype.Varchar, []byte("local")},
		{"cluster_name", datatype.Varchar, []byte("fake")},
		{"data_center", datatype.Varchar, []byte("dc1")},
		{"rack", datatype.Varchar, []byte("rack1")},
		{"release_version", datatype.Varchar, []byte("3.11.2")},
		{"partitioner", datatype.Varchar, []byte("org.apache.cassandra.dht.Murmur3Partitioner")},
		{"host_id", datatype.Uuid, hostID},
		{"schema_version", datatype.Uuid, schemaVersion},
		{"rpc_address", datatype.Inet, ip},
		{"broadcast_address", datatype.Inet, ip},
		{"listen_address", datatype.Inet, ip},
		{"tokens", datatype.NewSet(datatype.Varchar), encodeTextList("-9223372036854775808")},
	}
	md := make([]*message.ColumnMetadata, len(names))
	row := make(message.Row, len(names))
	for i, n := range names {
		md[i] = &message.ColumnMetadata{Keyspace: "system", Table: "local", Name: n.name, Type: n.typ}
		row[i] = n.v
	}
	return &message.RowsResult{Metadata: &message.RowsMetadata{ColumnCount: int32(len(md)), Columns: md}, Data: message.RowSet{row}}
}

// encodeTextList encodes a list or set of text (protocol v3+).
func encodeTextList(items ...string) []byte {
	b := binary.BigEndian.AppendUint32(nil, uint32(len(items)))
	for _, s := range items {
		b = binary.BigEndian.AppendUint32(b, uint32(len(s)))
		b = append(b, s...)
	}
	return b
}

// encodeTextMap encodes a map<text, text> from key, value pairs.
func encodeTextMap(kv ...string) []byte {
	b := binary.BigEndian.AppendUint32(nil, uint32(len(kv)/2))
	for _, s := range kv {
		b = binary.BigEndian.AppendUint32(b, uint32(len(s)))
		b = append(b, s...)
	}
	return b
}

func (f *fakeCQL) serve() {
	for {
		c, err := f.ln.Accept()
		if err != nil {
			return
		}
		f.mu.Lock()
		f.conns[c] = struct{}{}
		f.mu.Unlock()
		go f.handle(c)
	}
}

// handle answers one connection's frames in order.
func (f *fakeCQL) handle(c net.Conn) {
	defer func() {
		c.Close()
		f.mu.Lock()
		delete(f.conns, c)
		f.mu.Unlock()
	}()
	for {
		req, err := f.codec.DecodeFrame(c)
		if err != nil {
			return
		}
		resp := f.respond(req.Body.Message, c.LocalAddr())
		if err := f.codec.EncodeFrame(frame.NewFrame(req.Header.Version, req.Header.StreamId, resp), c); err != nil {
			if !errors.Is(err, io.EOF) {
				return
			}
		}
	}
}

func (f *fakeCQL) respond(msg message.Message, local net.Addr) message.Message {
	switch m := msg.(type) {
	case *message.Options:
		return &message.Supported{Options: map[string][]string{"CQL_VERSION": {"3.4.4"}, "COMPRESSION": {}}}
	case *message.Startup, *message.Register:
		return &message.Ready{}
	case *message.Query:
		if r := f.system(m.Query, local); r != nil {
			return r
		}
		return f.exec(m.Query, m.Options)
	case *message.Prepare:
		return f.prepare(m.Query)
	case *message.Execute:
		f.mu.Lock()
		s, ok := f.prepared[string(m.QueryId)]
		f.mu.Unlock()
		if !ok {
			return &message.Unprepared{ErrorMessage: "unknown prepared statement", Id: m.QueryId}
		}
		if s.run == nil { // a prepared system query
			return f.system(s.text, local)
		}
		return f.exec(s.text, m.Options)
	}
	return &message.ProtocolError{ErrorMessage: fmt.Sprintf("fake: unsupported message %T", msg)}
}

func (f *fakeCQL) prepare(query string) message.Message {
	s, ok := f.byText[query]
	if !ok && f.system(query, f.ln.Addr()) != nil {
		// A system query with one text variable (the keyspace name).
		s = &fakeStmt{text: query, vars: []col{{"keyspace_name", datatype.Varchar}}}
		ok = true
	}
	if !ok {
		f.mu.Lock()
		f.unexpected = append(f.unexpected, query)
		f.mu.Unlock()
		return invalid("fake: unexpected statement: " + query)
	}
	sum := sha256.Sum256([]byte(query))
	id := sum[:16]
	f.mu.Lock()
	f.prepared[string(id)] = s
	f.mu.Unlock()
	vars := &message.VariablesMetadata{Columns: []*message.ColumnMetadata{}}
	for i, v := range s.vars {
		vars.Columns = append(vars.Columns, &message.ColumnMetadata{Keyspace: "ks", Table: "t", Name: v.name, Index: int32(i), Type: v.typ})
		if v.name == "id" {
			vars.PkIndices = append(vars.PkIndices, uint16(i))
		}
	}
	res := &message.RowsMetadata{ColumnCount: int32(len(s.result))}
	for i, c := range s.result {
		res.Columns = append(res.Columns, &message.ColumnMetadata{Keyspace: "ks", Table: "t", Name: c.name, Index: int32(i), Type: c.typ})
	}
	return &message.PreparedResult{PreparedQueryId: id, VariablesMetadata: vars, ResultMetadata: res}
}

func (f *fakeCQL) exec(query string, opts *message.QueryOptions) message.Message {
	s, ok := f.byText[query]
	if !ok {
		f.mu.Lock()
		f.unexpected = append(f.unexpected, query)
		f.mu.Unlock()
		return invalid("fake: unexpected statement: " + query)
	}
	var args [][]byte
	if opts != nil {
		for _, v := range opts.PositionalValues {
			if v.Type == primitive.ValueTypeRegular {
				args = append(args, v.Contents)
			} else {
				args = append(args, nil)
			}
		}
	}
	if len(args) != len(s.vars) {
		return invalid("fake: wrong number of bound values")
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	return s.run(f, args)
}
