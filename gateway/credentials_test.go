package gateway

import "testing"

// TestCredentials counts the credentials of one Authorization value: a
// comma starts a new credential unless an auth-param or a quoted string
// explains it.
func TestCredentials(t *testing.T) {
	tests := []struct {
		value string
		want  int
	}{
		{"", 0},
		{"Bearer abc", 1},
		{"Bearer abc=", 1},
		{"Bearer abc,", 1},
		{", Bearer abc", 1},
		{"Bearer abc, , ", 1},
		{`Digest username="a", realm="b", nonce="c"`, 1},
		{`Digest realm="a, Bearer b"`, 1},
		{`Digest realm="a \", Bearer b", nonce=x`, 1},
		{"Custom a = b, c=d", 1},
		{"Bearer abc, Bearer def", 2},
		{"Bearer abc,Bearer def", 2},
		{"Bearer abc, def", 2},
		{"Bearer abc, Basic", 2},
		{`Digest realm="a", Bearer b`, 2},
		{"Bearer a, Bearer b, Bearer c", 3},
	}
	for _, tt := range tests {
		if got := credentials(tt.value); got != tt.want {
			t.Errorf("credentials(%q) = %d, want %d", tt.value, got, tt.want)
		}
	}
}
