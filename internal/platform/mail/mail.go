// Package mail sends plain-text e-mail through the SMTP server of SMTP_URL
// (smtp://user:pass@host:587 with STARTTLS when offered, or smtps:// for TLS
// from the start). Every send is bounded by its context and a dial timeout,
// and refuses header injection. mail imports only the standard library.
package mail

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/tls"
	"encoding/hex"
	"errors"
	"fmt"
	"mime"
	"net"
	"net/mail"
	"net/smtp"
	"net/url"
	"strings"
	"time"
)

// Mailer sends mail; a nil *Mailer is a mailer that is not set up.
type Mailer struct {
	u       *url.URL
	from    string
	timeout time.Duration
	// TLS, when set, replaces the TLS configuration (tests trust their own CA).
	TLS *tls.Config
}

// New returns a mailer for smtpURL sending as from (an address, or "Name
// <address>"); an empty smtpURL gives nil: no mail is sent.
func New(smtpURL, from string) (*Mailer, error) {
	if strings.TrimSpace(smtpURL) == "" {
		return nil, nil
	}
	u, err := url.Parse(smtpURL)
	if err != nil || (u.Scheme != "smtp" && u.Scheme != "smtps") || u.Hostname() == "" {
		return nil, errors.New("mail: SMTP_URL must look like smtp://user:pass@host:port or smtps://…")
	}
	if _, err := mail.ParseAddress(from); err != nil {
		return nil, fmt.Errorf("mail: sender %q: %w", from, err)
	}
	return &Mailer{u: u, from: from, timeout: 15 * time.Second}, nil
}

// Enabled reports whether mail can be sent.
func (m *Mailer) Enabled() bool { return m != nil }

// Send delivers one plain-text message to one recipient.
func (m *Mailer) Send(ctx context.Context, to, subject, body string) error {
	if m == nil {
		return errors.New("mail: SMTP_URL is not set")
	}
	rcpt, err := mail.ParseAddress(to)
	if err != nil || strings.ContainsAny(to, "\r\n") {
		return fmt.Errorf("mail: recipient %q is not an address", to)
	}
	if strings.ContainsAny(subject, "\r\n") {
		return errors.New("mail: a subject is one line")
	}
	sender, _ := mail.ParseAddress(m.from)
	msg := m.message(sender, rcpt, subject, body)

	ctx, cancel := context.WithTimeout(ctx, m.timeout)
	defer cancel()
	host := m.u.Hostname()
	port := m.u.Port()
	if port == "" {
		port = map[string]string{"smtp": "587", "smtps": "465"}[m.u.Scheme]
	}
	tlsConf := m.TLS
	if tlsConf == nil {
		tlsConf = &tls.Config{ServerName: host, MinVersion: tls.VersionTLS12}
	}
	var d net.Dialer
	conn, err := d.DialContext(ctx, "tcp", net.JoinHostPort(host, port))
	if err != nil {
		return fmt.Errorf("mail: %w", err)
	}
	defer conn.Close()
	if dl, ok := ctx.Deadline(); ok {
		_ = conn.SetDeadline(dl)
	}
	if m.u.Scheme == "smtps" {
		conn = tls.Client(conn, tlsConf)
	}
	c, err := smtp.NewClient(conn, host)
	if err != nil {
		return fmt.Errorf("mail: %w", err)
	}
	defer c.Close()
	if m.u.Scheme == "smtp" {
		if ok, _ := c.Extension("STARTTLS"); ok {
			if err := c.StartTLS(tlsConf); err != nil {
				return fmt.Errorf("mail: STARTTLS: %w", err)
			}
		}
	}
	if m.u.User != nil {
		pw, _ := m.u.User.Password()
		// PlainAuth refuses to send the password unencrypted except to localhost.
		if err := c.Auth(smtp.PlainAuth("", m.u.User.Username(), pw, host)); err != nil {
			return fmt.Errorf("mail: authentication: %w", err)
		}
	}
	if err := c.Mail(sender.Address); err != nil {
		return fmt.Errorf("mail: MAIL FROM: %w", err)
	}
	if err := c.Rcpt(rcpt.Address); err != nil {
		return fmt.Errorf("mail: RCPT TO: %w", err)
	}
	w, err := c.Data()
	if err != nil {
		return fmt.Errorf("mail: DATA: %w", err)
	}
	if _, err := w.Write(msg); err != nil {
		return fmt.Errorf("mail: %w", err)
	}
	if err := w.Close(); err != nil {
		return fmt.Errorf("mail: %w", err)
	}
	return c.Quit()
}

func (m *Mailer) message(from, to *mail.Address, subject, body string) []byte {
	var id [12]byte
	_, _ = rand.Read(id[:])
	domain := from.Address[strings.LastIndexByte(from.Address, '@')+1:]
	var b bytes.Buffer
	fmt.Fprintf(&b, "From: %s\r\nTo: %s\r\nSubject: %s\r\nDate: %s\r\nMessage-ID: <%s@%s>\r\n",
		from.String(), to.String(), mime.QEncoding.Encode("utf-8", subject), time.Now().UTC().Format(time.RFC1123Z), hex.EncodeToString(id[:]), domain)
	b.WriteString("MIME-Version: 1.0\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: 8bit\r\n\r\n")
	// SMTP wants CRLF line ends; a lone "." line is escaped by the client.
	b.WriteString(strings.ReplaceAll(strings.ReplaceAll(body, "\r\n", "\n"), "\n", "\r\n"))
	if !strings.HasSuffix(body, "\n") {
		b.WriteString("\r\n")
	}
	return b.Bytes()
}
