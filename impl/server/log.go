package server

import (
	"context"
	"log/slog"
)

// connLog logs for one connection: the server's logger, with the connection's id added when
// something is actually logged (a *slog.Logger made by With for every connection would cost
// memory for every idle one).
type connLog struct {
	l  *slog.Logger
	id uint64
}

// Enabled reports whether level is logged.
func (l connLog) Enabled(level slog.Level) bool { return l.l.Enabled(context.Background(), level) }

// Debug logs at debug level; on a hot path, check Enabled first (the arguments escape).
func (l connLog) Debug(msg string, args ...any) { l.log(slog.LevelDebug, msg, args) }

// Info logs at info level.
func (l connLog) Info(msg string, args ...any) { l.log(slog.LevelInfo, msg, args) }

// Error logs at error level.
func (l connLog) Error(msg string, args ...any) { l.log(slog.LevelError, msg, args) }

func (l connLog) log(level slog.Level, msg string, args []any) {
	ctx := context.Background()
	if !l.l.Enabled(ctx, level) {
		return
	}
	l.l.Log(ctx, level, msg, append([]any{"conn", l.id}, args...)...)
}
