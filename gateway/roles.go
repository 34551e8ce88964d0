package gateway

import (
	"net/http"
	"slices"

	"github.com/knooppunt/knooppunt/audit"
)

// Roles of the registry (routing.Role values) as the gateway checks them.
const (
	RoleGemeente             = "gemeente"
	RoleAanbieder            = "aanbieder"
	RoleSamenwerkingsverband = "samenwerkingsverband"
	RoleOperator             = "operator"
	RoleAuditor              = "auditor"
	RoleNZa                  = "nza"
)

// AllRoles lists every role, in the order of the table in docs/security.md.
var AllRoles = []string{RoleGemeente, RoleAanbieder, RoleSamenwerkingsverband, RoleOperator, RoleAuditor, RoleNZa}

// parties are the roles that send and receive messages.
var parties = []string{RoleGemeente, RoleAanbieder, RoleSamenwerkingsverband}

// Permission is one row of the endpoint × role table: who may call an
// endpoint, and what the audit trail records when a call succeeds.
type Permission struct {
	Method, Pattern string
	Roles           []string
	// Audit is the action recorded for a successful call; empty records
	// nothing (the call touches no personal data).
	Audit audit.Action
}

// Permissions is the endpoint × role table, enforced on every
// authenticated endpoint and walked by TestRolesTable; docs/security.md
// shows it. An endpoint missing here is refused to everyone (fail closed).
// Operators see metadata (track & trace) but never message content;
// auditors read the audit trail.
var Permissions = []Permission{
	{http.MethodPost, "/v1/berichten", parties, audit.Received},
	{http.MethodPost, "/v1/berichten/batch", parties, audit.Received},
	{http.MethodGet, "/v1/berichten/{id}", append(slices.Clone(parties), RoleOperator, RoleAuditor), audit.TraceViewed},
	{http.MethodPost, "/v1/validate", parties, ""},
	{http.MethodGet, "/v1/mailbox", parties, audit.Listed},
	{http.MethodGet, "/v1/mailbox/{id}", parties, audit.Fetched},
	{http.MethodDelete, "/v1/mailbox/{id}", parties, audit.Confirmed},
	{http.MethodGet, "/v1/audit", []string{RoleAuditor}, audit.AuditQueried},
	// Operators see and release what delivery gave up on, by metadata.
	{http.MethodGet, "/v1/quarantine", []string{RoleOperator}, audit.QuarantineListed},
	{http.MethodPost, "/v1/quarantine/{id}/release", []string{RoleOperator}, audit.Released},
	// The VSP face (vsp.go): the same actions under VECOZO's paths.
	{http.MethodGet, vspPull + "/berichten", parties, audit.Listed},
	{http.MethodPost, vspPull + "/berichten/zoeken", parties, audit.Listed},
	{http.MethodGet, vspPull + "/berichten/{traceerId}/payload", parties, audit.Fetched},
	{http.MethodDelete, vspPull + "/berichten/{traceerId}", parties, audit.Confirmed},
	{http.MethodPost, vspPush + "/berichten", parties, audit.Received},
	{http.MethodGet, vspStatus + "/berichtstatussen", parties, audit.TraceViewed},
	// Information products mounted by the node (gateway.Endpoint): a
	// gemeente or samenwerkingsverband reads its own rows, the NZa its
	// export only; aanbieders have no rows of their own there.
	{http.MethodGet, "/v1/stuurinfo", []string{RoleGemeente, RoleSamenwerkingsverband, RoleOperator}, audit.StuurinfoQuery},
	{http.MethodGet, "/v1/stuurinfo/nza", []string{RoleOperator, RoleNZa}, audit.StuurinfoQuery},
	{http.MethodGet, "/dashboard", []string{RoleGemeente, RoleSamenwerkingsverband, RoleOperator}, audit.StuurinfoQuery},
	{http.MethodPost, "/v1/samenloop/wlz-register", []string{RoleOperator}, audit.RegisterImport},
	{http.MethodPost, "/v1/samenloop/run", []string{RoleOperator}, ""},
	// Mounted by the node when it has a backup directory.
	{http.MethodPost, "/v1/backup", []string{RoleOperator}, audit.BackupMade},
	// The operations page, mounted by the node.
	{http.MethodGet, "/operations", []string{RoleOperator}, audit.OperationsViewed},
}

// Role codes of refusals.
const (
	// CodeRoleForbidden: the caller's role may not use this endpoint.
	CodeRoleForbidden = "role-forbidden"
	// CodeNotAParty: an endpoint of the parties (sending, mailbox) was
	// called by an operator, auditor or NZa; the same code as routing's.
	CodeNotAParty = "not-a-party"
)

// permission returns the table row of method and pattern.
func permission(method, pattern string) (Permission, bool) {
	for _, p := range Permissions {
		if p.Method == method && p.Pattern == pattern {
			return p, true
		}
	}
	return Permission{}, false
}

// roleOf is the role the gateway checks for p: its registry role, or —
// for principals built without one (tests, older adapters) — a party role
// when it is a party and operator when it is an operator.
func roleOf(p Principal) string {
	switch {
	case p.Role != "":
		return p.Role
	case p.Party:
		return RoleAanbieder
	case p.Operator:
		return RoleOperator
	}
	return ""
}

// authorize refuses a caller whose role the table does not allow.
func authorize(perm Permission, ok bool, p Principal) error {
	if !ok || !slices.Contains(perm.Roles, roleOf(p)) {
		if ok && !p.Party && !slices.ContainsFunc(perm.Roles, func(r string) bool { return !slices.Contains(parties, r) }) {
			return errorf(KindForbidden, CodeNotAParty, "%s is not a party; only gemeenten, aanbieders and samenwerkingsverbanden use this endpoint", p.ID)
		}
		return errorf(KindForbidden, CodeRoleForbidden, "the role of %s may not use this endpoint", p.ID)
	}
	return nil
}
