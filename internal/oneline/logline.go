package oneline

import (
	"regexp"
	"strconv"
	"strings"
)

// A cause is often a command's stderr, written by a logger: its first words
// are then a timestamp, and the error comes after the command that failed.
// The functions here put the error's own words first, so that what a cause
// keeps within maxCause is what went wrong.

var (
	// klogHeader is klog's "E1127 07:41:31.384731    2492 remote_runtime.go:366] ":
	// severity, MMDD, time with microseconds, thread id, file:line. It
	// starts a line or follows ": ", where a wrapper put the command first.
	klogHeader = regexp.MustCompile(`(^|: )[IWEF]\d{4} \d{2}:\d{2}:\d{2}\.\d{6}\s+\d+ [^\s\]]+:\d+\] `)

	// leadingTime is an RFC 3339 or Go log ("2006/01/02 15:04:05") timestamp
	// at the start of a line.
	leadingTime = regexp.MustCompile(`^(\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:?\d{2})?|\d{4}/\d{2}/\d{2} \d{2}:\d{2}:\d{2}(\.\d+)?) +`)

	// logfmtHeader is logrus's `time="..." level=fatal msg=`, as crictl
	// writes its errors.
	logfmtHeader = regexp.MustCompile(`(^|: )time="[^"]*" level=\w+ msg=`)

	// keyValue is one of klog's structured pairs after the message:
	// err="..." or containerID=abc.
	keyValue = regexp.MustCompile(`^\s*([A-Za-z][\w.-]*)=("(?:[^"\\]|\\.)*"|\S+)`)

	// commandLine starts a "<command line>: <error>" text: a wrapper put
	// the command it ran before what the command said.
	commandLine = regexp.MustCompile(`^(docker|crictl|kubectl|kind|ctr|nerdctl|podman|ssh|sh -c|bash -c)\s`)

	// longID is a full container or image ID; its first 12 characters
	// identify it as docker and crictl show it.
	longID = regexp.MustCompile(`\b[0-9a-f]{32,}\b`)
)

// longCommand is how long a command line must be to go after its error: a
// short one ("kubectl apply failed: ...") reads fine where it is.
const longCommand = 40

// Tidy strips log prefixes (timestamps, klog and logrus headers) from one
// line of a cause and leads with the error, keeping the line's indentation:
// a runtime tool's failure reads as what went wrong, then the command.
func Tidy(line string) string {
	body := strings.TrimLeft(line, " \t")
	indent := line[:len(line)-len(body)]
	return indent + errorFirst(stripLogPrefixes(body))
}

// stripLogPrefixes removes a leading timestamp and every klog or logrus
// header; klog's structured `"msg" err="..."` becomes "msg: err".
func stripLogPrefixes(s string) string {
	s = leadingTime.ReplaceAllString(s, "")
	for {
		loc := klogHeader.FindStringSubmatchIndex(s)
		if loc == nil {
			break
		}
		// keep the ": " a wrapper put before the header
		keep := s[:loc[3]]
		s = keep + klogMessage(s[loc[1]:])
	}
	for {
		loc := logfmtHeader.FindStringSubmatchIndex(s)
		if loc == nil {
			break
		}
		s = s[:loc[3]] + logfmtMessage(s[loc[1]:])
	}
	return s
}

// klogMessage turns klog's structured `"StopContainer failed" err="rpc
// error: ..." containerID="3c1b..."` into "StopContainer failed: rpc
// error: ...": the message and the error say what happened, the other
// pairs only which object it happened to. Unstructured text is kept.
func klogMessage(s string) string {
	quoted, err := strconv.QuotedPrefix(s)
	if err != nil {
		return s
	}
	msg, _ := strconv.Unquote(quoted)
	rest := s[len(quoted):]
	errText := ""
	for {
		m := keyValue.FindStringSubmatch(rest)
		if m == nil {
			break
		}
		rest = rest[len(m[0]):]
		if m[1] == "err" || m[1] == "error" {
			errText = unquote(m[2])
		}
	}
	return JoinNonEmpty(": ", msg, errText, strings.TrimSpace(rest))
}

// logfmtMessage is the message of `msg="..." ...`, unquoted; what follows
// it (more key=value pairs) is dropped.
func logfmtMessage(s string) string {
	if quoted, err := strconv.QuotedPrefix(s); err == nil {
		return unquote(quoted)
	}
	if i := strings.IndexByte(s, ' '); i > 0 {
		return s[:i]
	}
	return s
}

func unquote(s string) string {
	if u, err := strconv.Unquote(s); err == nil {
		return u
	}
	return s
}

// errorFirst turns "<long command line>: <error>" into "<error> (<command
// line>)": the error is what a reader needs, the command where it came from.
func errorFirst(s string) string {
	if !commandLine.MatchString(s) {
		return s
	}
	i := strings.Index(s, ": ")
	if i < 0 {
		return s
	}
	cmd, errText := s[:i], strings.TrimSpace(leadingTime.ReplaceAllString(strings.TrimSpace(s[i+2:]), ""))
	if len([]rune(cmd)) < longCommand || errText == "" {
		return s
	}
	cmd = longID.ReplaceAllStringFunc(cmd, func(id string) string { return id[:12] + "…" })
	return errText + " (" + cmd + ")"
}

// JoinNonEmpty joins the parts that say something.
func JoinNonEmpty(sep string, parts ...string) string {
	var out []string
	for _, p := range parts {
		if p != "" {
			out = append(out, p)
		}
	}
	return strings.Join(out, sep)
}
