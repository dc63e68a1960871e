package gateway

import (
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/gorilla/websocket"

	"portico/internal/gateway/snapshot"
	"portico/internal/platform/secrets"
)

// TestWebSocketEcho upgrades through the gateway (with an API key) and echoes
// messages both ways: the proxy hijacks through the metering recorder.
func TestWebSocketEcho(t *testing.T) {
	up := websocket.Upgrader{}
	echo := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Header.Get("Apikey") != "" {
			http.Error(w, "credential leaked", 500)
			return
		}
		c, err := up.Upgrade(w, r, nil)
		if err != nil {
			return
		}
		defer c.Close()
		for {
			mt, msg, err := c.ReadMessage()
			if err != nil {
				return
			}
			c.WriteMessage(mt, append([]byte("echo: "), msg...))
		}
	}))
	defer echo.Close()
	g := New(Options{Log: slog.New(slog.DiscardHandler)})
	err := g.Load(snapshot.Config{
		APIs: []snapshot.API{{ID: "ws", OrgID: "o", Context: "chat", Version: "v1", Default: true, State: snapshot.StatePublished,
			Auth: []string{snapshot.AuthAPIKey}, Backends: []string{echo.URL}}},
		Applications:  []snapshot.Application{{ID: "app", OrgID: "o"}},
		Keys:          []snapshot.APIKey{{Hash: secrets.Hash("k"), ApplicationID: "app"}},
		Subscriptions: []snapshot.Subscription{{ID: "s", ApplicationID: "app", APIID: "ws", Tier: "Unlimited", Status: snapshot.SubActive}},
		Tiers:         []snapshot.Tier{{OrgID: "o", Name: "Unlimited"}},
	})
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(g)
	defer srv.Close()
	url := "ws" + strings.TrimPrefix(srv.URL, "http") + "/chat/v1/socket"
	c, resp, err := websocket.DefaultDialer.Dial(url, http.Header{"apikey": {"k"}})
	if err != nil {
		t.Fatalf("dial: %v (%v)", err, resp)
	}
	defer c.Close()
	c.SetReadDeadline(time.Now().Add(5 * time.Second))
	for _, msg := range []string{"hello", "again"} {
		if err := c.WriteMessage(websocket.TextMessage, []byte(msg)); err != nil {
			t.Fatal(err)
		}
		_, got, err := c.ReadMessage()
		if err != nil || string(got) != "echo: "+msg {
			t.Fatalf("got %q, %v", got, err)
		}
	}
	// Without a key the upgrade is refused before it reaches the backend.
	if _, resp, err := websocket.DefaultDialer.Dial(url, nil); err == nil || resp == nil || resp.StatusCode != 401 {
		t.Fatalf("keyless upgrade: %v %v", err, resp)
	}
}
