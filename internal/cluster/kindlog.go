package cluster

import (
	"fmt"
	"io"
	"strings"
	"sync"
	"time"

	kindlog "sigs.k8s.io/kind/pkg/log"
)

// writerLogger sends kind's progress to a writer, one line per message,
// each with the time since the provider was made: where a cluster's
// creation spends its seconds.
type writerLogger struct {
	mu    *sync.Mutex
	w     io.Writer
	v     kindlog.Level
	start time.Time
}

func newLogger(w io.Writer) kindlog.Logger {
	return writerLogger{mu: &sync.Mutex{}, w: w, v: 0, start: time.Now()}
}

func (l writerLogger) line(prefix, msg string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	fmt.Fprintf(l.w, "[kind %5.1fs] %s%s\n", time.Since(l.start).Seconds(), prefix, strings.TrimRight(msg, "\n"))
}

func (l writerLogger) Warn(message string)                      { l.line("WARN: ", message) }
func (l writerLogger) Warnf(format string, args ...any)         { l.Warn(fmt.Sprintf(format, args...)) }
func (l writerLogger) Error(message string)                     { l.line("ERROR: ", message) }
func (l writerLogger) Errorf(format string, args ...any)        { l.Error(fmt.Sprintf(format, args...)) }
func (l writerLogger) V(level kindlog.Level) kindlog.InfoLogger { return infoLogger{l, level <= l.v} }

type infoLogger struct {
	l       writerLogger
	enabled bool
}

func (i infoLogger) Info(message string) {
	if i.enabled {
		i.l.line("", message)
	}
}
func (i infoLogger) Infof(format string, args ...any) { i.Info(fmt.Sprintf(format, args...)) }
func (i infoLogger) Enabled() bool                    { return i.enabled }
