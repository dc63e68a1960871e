package mail_test

import (
	"context"
	"net"
	"strings"
	"testing"
	"time"

	"portico/internal/platform/mail"
	"portico/internal/platform/mail/mailtest"
)

func TestSendThroughARealSMTPServer(t *testing.T) {
	srv := mailtest.Start(t)
	m, err := mail.New(srv.URL, "Portico <no-reply@portico.test>")
	if err != nil {
		t.Fatal(err)
	}
	if err := m.Send(context.Background(), "dev@example.com", "Reset your password", "Hello.\nFollow the link.\n.\nBye"); err != nil {
		t.Fatal(err)
	}
	got := srv.Wait(t, 1, 5*time.Second)[0]
	if got.From != "no-reply@portico.test" || len(got.To) != 1 || got.To[0] != "dev@example.com" || got.Subject != "Reset your password" {
		t.Fatalf("envelope and headers: %+v", got)
	}
	if got.Body != "Hello.\r\nFollow the link.\r\n.\r\nBye\r\n" {
		t.Fatalf("body %q", got.Body)
	}
	for _, h := range []string{"Date: ", "Message-ID: <", "Content-Type: text/plain; charset=utf-8"} {
		if !strings.Contains(got.Raw, h) {
			t.Errorf("no %q header in %q", h, got.Raw)
		}
	}
}

func TestRefusals(t *testing.T) {
	srv := mailtest.Start(t)
	m, _ := mail.New(srv.URL, "no-reply@portico.test")
	ctx := context.Background()
	for _, tc := range []struct{ to, subject string }{
		{"dev@example.com\r\nBcc: everyone@example.com", "hi"},
		{"not an address", "hi"},
		{"dev@example.com", "hi\r\nBcc: everyone@example.com"},
	} {
		if err := m.Send(ctx, tc.to, tc.subject, "body"); err == nil {
			t.Errorf("sent to %q with subject %q", tc.to, tc.subject)
		}
	}
	if len(srv.Messages()) != 0 {
		t.Fatalf("messages got through: %+v", srv.Messages())
	}
	wrong, _ := mail.New(strings.Replace(srv.URL, "mail-secret", "wrong", 1), "no-reply@portico.test")
	if err := wrong.Send(ctx, "dev@example.com", "hi", "body"); err == nil || !strings.Contains(err.Error(), "authentication") {
		t.Fatalf("wrong password: %v", err)
	}
	for _, bad := range []string{"http://mail.example.com", "smtp://", "::"} {
		if _, err := mail.New(bad, "no-reply@portico.test"); err == nil {
			t.Errorf("SMTP_URL %q accepted", bad)
		}
	}
	if m, err := mail.New("", "x@y.z"); m != nil || err != nil || m.Enabled() {
		t.Fatalf("no SMTP_URL: %v %v", m, err)
	}
}

// TestAStalledServerIsBounded: a server that accepts and never greets costs
// the caller its context's time, not forever.
func TestAStalledServerIsBounded(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			defer c.Close()
		}
	}()
	m, _ := mail.New("smtp://"+ln.Addr().String(), "no-reply@portico.test")
	ctx, cancel := context.WithTimeout(context.Background(), 300*time.Millisecond)
	defer cancel()
	start := time.Now()
	if err := m.Send(ctx, "dev@example.com", "hi", "body"); err == nil {
		t.Fatal("sent to a server that never answered")
	}
	if took := time.Since(start); took > 5*time.Second {
		t.Fatalf("a stalled server held the caller %s", took)
	}
}
