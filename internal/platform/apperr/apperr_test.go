package apperr

import (
	"errors"
	"fmt"
	"net/http"
	"strings"
	"testing"
)

func TestPublicHidesInternalDetail(t *testing.T) {
	status, body := Public(fmt.Errorf("query users: %w", errors.New(`pq: relation "users" does not exist`)))
	if status != http.StatusInternalServerError || body.Error.Code != "internal_error" {
		t.Fatalf("got %d %+v", status, body)
	}
	if body.Error.Message == "" || strings.Contains(body.Error.Message, "relation") {
		t.Fatalf("internal detail leaked: %q", body.Error.Message)
	}
}

func TestPublicKeepsKindThroughWrapping(t *testing.T) {
	base := Conflict("email_taken", "That e-mail address is already registered.")
	err := fmt.Errorf("create user: %w", base.WithField("email"))
	status, body := Public(err)
	if status != http.StatusConflict || body.Error.Code != "email_taken" || body.Error.Field != "email" {
		t.Fatalf("got %d %+v", status, body)
	}
	if !errors.Is(err, base) {
		t.Fatal("errors.Is should match by code")
	}
}

func TestEveryKindHasAStatus(t *testing.T) {
	for k := KindInternal; k <= KindUnsupportedMediaType; k++ {
		if Status(k) < 400 {
			t.Fatalf("kind %d has status %d", k, Status(k))
		}
	}
}
