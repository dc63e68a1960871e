package heroku

import (
	"errors"
	"strconv"
	"strings"
	"testing"
	"time"
)

// FuzzSSO checks the SSO token and timestamp verification with arbitrary
// parameters: it never panics, refuses with a 403 Refusal, accepts a request
// only when one of its tokens was made with the salt for the resource it names
// and the timestamp is within the window, and accepts every such request.
func FuzzSSO(f *testing.F) {
	const salt = "2f97bfa52ca102f8874716e2eb1d3b4920ad0be4"
	now := time.Unix(1_800_000_000, 0)
	rid := "01234567-89ab-cdef-0123-456789abcdef"
	for _, s := range []struct {
		rid, id, userID, email, token string
		offset                        int64
		kind                          uint8
	}{
		{rid, "", "u1", "a@example.com", "", 0, 0},
		{rid, "", "u1", "a@example.com", "", -299, 1},
		{"", rid, "", "", "", 299, 2},
		{strings.ToUpper(rid), "", "u1", "a@example.com", "", 301, 0},
		{rid, "", "u1", "a@example.com", "deadbeef", 0, 3},
		{"", "", "", "", "", 0, 3},
		{" " + rid + " ", "", "u\x00", "ä@example.com", "", -301, 1},
	} {
		f.Add(s.rid, s.id, s.userID, s.email, s.token, strconv.FormatInt(now.Unix()+s.offset, 10), s.kind)
	}
	f.Add(rid, "", "u1", "a@example.com", "", "+1800000000", uint8(1))
	f.Add(rid, "", "u1", "a@example.com", "", "1800000000.0", uint8(1))
	f.Add(rid, "", "u1", "a@example.com", "", "99999999999999999999", uint8(0))
	f.Add(rid, "", "u1", "a@example.com", "", "-9223372036854775808", uint8(0))
	f.Fuzz(func(t *testing.T, resourceID, id, userID, email, token, timestamp string, kind uint8) {
		in := SSORequest{ResourceID: resourceID, ID: id, UserID: userID, Email: email, Timestamp: timestamp}
		ts := strings.TrimSpace(timestamp)
		lowRID := strings.ToLower(strings.TrimSpace(resourceID))
		legacyID := strings.TrimSpace(id)
		if legacyID == "" {
			legacyID = lowRID
		}
		// kind 0-2 sign the request as Heroku would (user-scoped, resource,
		// legacy); 3 sends the fuzzed token as all three.
		switch kind % 4 {
		case 0:
			in.UserScopedToken = UserScopedToken(lowRID, salt, ts, userID, email)
		case 1:
			in.ResourceToken = LegacyToken(lowRID, salt, ts)
		case 2:
			in.Token = LegacyToken(legacyID, salt, ts)
		case 3:
			in.UserScopedToken, in.ResourceToken, in.Token = token, token, token
		}
		got, err := verifySSO(in, salt, now)

		sec, perr := strconv.ParseInt(ts, 10, 64)
		d := now.Sub(time.Unix(sec, 0))
		inWindow := ts != "" && perr == nil && d <= SSOWindow && d >= -SSOWindow
		var want bool // what Heroku's SSO documentation says
		switch kind % 4 {
		case 0:
			want = lowRID != "" && userID != "" && email != ""
		case 1:
			want = lowRID != ""
		case 2:
			want = legacyID != ""
		case 3: // only if the fuzzer found SHA-1 or SHA-256 preimages
			want = token != "" && (tokenEqual(token, UserScopedToken(lowRID, salt, ts, userID, email)) && lowRID != "" && userID != "" && email != "")
		}
		want = want && inWindow
		if err != nil {
			var ref *Refusal
			if !errors.As(err, &ref) || ref.Status != 403 || ref.Message == "" {
				t.Fatalf("refusal %#v is not a 403", err)
			}
			if want {
				t.Fatalf("a request signed with the salt at %q (now %d) was refused: %v", timestamp, now.Unix(), err)
			}
			return
		}
		if !want {
			t.Fatalf("accepted a request that is not signed or not in the window: %+v", in)
		}
		if got == "" || got != strings.ToLower(got) {
			t.Fatalf("resource %q", got)
		}
		if wantRID := map[bool]string{true: strings.ToLower(legacyID), false: lowRID}[kind%4 == 2]; got != wantRID {
			t.Fatalf("signed for %q, signed in to %q", wantRID, got)
		}
	})
}
