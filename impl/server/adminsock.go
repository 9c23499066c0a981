package server

import (
	"path/filepath"
	"time"

	"github.com/blindpost/blindpost/impl/server/admin"
)

// AdminSocketName is the administration socket's default name in the data directory.
const AdminSocketName = "admin.sock"

// adminServer is the administration socket of a running relay (package admin).
type adminServer = admin.Server

// AdminSocketPath returns where cfg puts the administration socket, or "" when it is off.
func AdminSocketPath(cfg Config) string {
	if cfg.AdminSocket == "" {
		return ""
	}
	if filepath.IsAbs(cfg.AdminSocket) {
		return cfg.AdminSocket
	}
	return filepath.Join(cfg.DataDir, cfg.AdminSocket)
}

// startAdmin serves the administration commands on the socket while the relay runs.
func (s *Server) startAdmin() error {
	path := AdminSocketPath(s.cfg)
	if path == "" {
		return nil
	}
	a, err := admin.Listen(path, func(req admin.Request) admin.Response {
		resp := admin.Execute(s.dir, adminRelay{s}, s.now(), req)
		s.log.Info("admin command", "command", req.Command, "names", len(req.Names), "error", resp.Error)
		return resp
	})
	if err != nil {
		return err
	}
	s.admin = a
	return nil
}

// now is the directory's clock.
func (s *Server) now() time.Time {
	if s.cfg.Clock != nil {
		return s.cfg.Clock()
	}
	return time.Now()
}

// adminRelay is the running relay as the admin commands see it.
type adminRelay struct{ s *Server }

func (a adminRelay) Online(user string) bool {
	if cl := a.s.cfg.Cluster; cl != nil {
		return cl.IsOnline(user) // spec §5.11 [CLU-1]: online on any relay of the cluster
	}
	a.s.hub.mu.RLock()
	defer a.s.hub.mu.RUnlock()
	return a.s.hub.users[user] != nil
}

func (a adminRelay) OnlineNow() map[string]bool {
	if cl := a.s.cfg.Cluster; cl != nil {
		// spec §5.11 [CLU-1]: a name online on any relay of the cluster is kept.
		ctx, cancel := clusterCtx()
		defer cancel()
		names, err := cl.Online(ctx)
		if err != nil {
			return nil // not known: nothing may be released (releaseNames)
		}
		out := make(map[string]bool, len(names))
		for _, u := range names {
			out[u] = true
		}
		return out
	}
	a.s.hub.mu.RLock()
	defer a.s.hub.mu.RUnlock()
	out := make(map[string]bool, len(a.s.hub.users))
	for u := range a.s.hub.users {
		out[u] = true
	}
	return out
}

// groupsNow returns the groups with members now.
func (s *Server) groupsNow() map[string]bool {
	s.hub.mu.RLock()
	defer s.hub.mu.RUnlock()
	out := make(map[string]bool, len(s.hub.groups))
	for g := range s.hub.groups {
		out[g] = true
	}
	return out
}

func (a adminRelay) Status() admin.RelayStatus {
	s := a.s
	last, cur := s.regLimit.lastMinute(time.Now())
	s.hub.mu.RLock()
	online, groups := len(s.hub.users), len(s.hub.groups)
	s.hub.mu.RUnlock()
	ttl := "never"
	if s.cfg.NameTTL > 0 {
		ttl = s.cfg.NameTTL.String()
	}
	st := admin.RelayStatus{
		Running: true, Started: s.started, Connections: s.adm.open(), Online: online, MaxUsers: s.cfg.MaxUsers,
		Registration: s.policy.String(), NewNamesLastMinute: last, NewNamesThisMinute: cur, Groups: groups, NameTTL: ttl,
	}
	if cl := s.cfg.Cluster; cl != nil {
		st.Node, st.ClusterOnline = cl.ID(), cl.OnlineCount()
	}
	return st
}

// releaseNames releases the names not registered within the name TTL, except those online
// (spec §5.2.1 [INV-7]); it returns how many it released.
func (s *Server) releaseNames() int {
	if s.cfg.NameTTL <= 0 {
		return 0
	}
	// The hub is read before the directory is locked for writing, never inside it.
	online := adminRelay{s}.OnlineNow()
	if online == nil {
		s.log.Warn("releasing unused names skipped: the cluster's online users are not known")
		return 0
	}
	removed, err := s.dir.Prune(s.now().Add(-s.cfg.NameTTL), func(u string) bool { return online[u] })
	if err != nil {
		s.log.Error("releasing unused names failed", "err", err)
		return 0
	}
	if len(removed) > 0 {
		s.log.Info("released unused names", "count", len(removed), "unused_for", s.cfg.NameTTL)
	}
	// spec §5.9 [GSV-20]: a group without a commit for as long is forgotten, with its epoch.
	inUse := s.groupsNow()
	groups, err := s.dir.PruneGroups(s.now().Add(-s.cfg.NameTTL), func(name string) bool { return inUse[name] })
	if err != nil {
		s.log.Error("forgetting unused groups failed", "err", err)
	} else if groups > 0 {
		s.log.Info("forgot unused groups", "count", groups, "unused_for", s.cfg.NameTTL)
	}
	return len(removed)
}

// releaseEvery is how often the relay looks for names to release: a name is released at most
// this late after its TTL ran out.
const releaseEvery = time.Hour

// runRelease releases unused names at start and then every releaseEvery until stop is closed.
func (s *Server) runRelease(stop <-chan struct{}) {
	t := time.NewTicker(releaseEvery)
	defer t.Stop()
	for {
		s.releaseNames()
		select {
		case <-stop:
			return
		case <-t.C:
		}
	}
}
