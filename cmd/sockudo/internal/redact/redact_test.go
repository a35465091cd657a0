package redact

import (
	"strings"
	"testing"
)

func TestString(t *testing.T) {
	for _, tc := range []struct{ in, want string }{
		{"redis://user:pass@host:6379/0", "redis://user:redacted@host:6379/0"},
		{"redis://:pass@host:6379", "redis://:redacted@host:6379"},
		{"rediss://default:p@ss:w0rd@cache.example.com:6380", "rediss://default:redacted@cache.example.com:6380"},
		{"redis://host:6379", "redis://host:6379"},
		{"redis://user@host:6379", "redis://user@host:6379"},
		{"postgres://app:s3cret@db:5432/sockudo?sslmode=disable", "postgres://app:redacted@db:5432/sockudo?sslmode=disable"},
		{"postgres://db/sockudo?user=app&password=s3cret&sslmode=require", "postgres://db/sockudo?user=app&password=redacted&sslmode=require"},
		{"host=db port=5432 user=app password=s3cret dbname=sockudo", "host=db port=5432 user=app password=redacted dbname=sockudo"},
		{"host=db password='s3 cret' dbname=sockudo", "host=db password=redacted dbname=sockudo"},
		{"user=app PASSWORD = x dbname=y", "user=app PASSWORD = redacted dbname=y"},
		{"root:s3cret@tcp(127.0.0.1:3306)/sockudo?parseTime=true", "root:redacted@tcp(127.0.0.1:3306)/sockudo?parseTime=true"},
		{"root:p@ss@tcp(db:3306)/sockudo", "root:redacted@tcp(db:3306)/sockudo"},
		{"root@tcp(db:3306)/sockudo", "root@tcp(db:3306)/sockudo"},
		{"app:pw@unix(/run/mysqld.sock)/db", "app:redacted@unix(/run/mysqld.sock)/db"},
		{"127.0.0.1:6379", "127.0.0.1:6379"},
		{"https://sqs.us-east-1.amazonaws.com/123/", "https://sqs.us-east-1.amazonaws.com/123/"},
		{"", ""},
	} {
		got := String(tc.in)
		if got != tc.want {
			t.Errorf("String(%q) = %q, want %q", tc.in, got, tc.want)
		}
		for _, secret := range []string{"s3cret", "pass@", "p@ss", "s3 cret", "w0rd"} {
			if strings.Contains(tc.in, secret) && strings.Contains(got, secret) {
				t.Errorf("String(%q) = %q still holds %q", tc.in, got, secret)
			}
		}
	}
}

func TestSecret(t *testing.T) {
	if Secret("") != "" || Secret("x") != Mask {
		t.Fatalf("Secret: %q %q", Secret(""), Secret("x"))
	}
}
