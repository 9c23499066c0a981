package e2ee

import (
	"errors"
	"fmt"
)

// Outcome is one of the closed set of rejection codes of spec Appendix A.4.
// Driver events, typed errors and negative test vectors all use these codes.
//
// An Outcome is also an error, so that errors.Is(err, e2ee.BadTag) reports
// whether err is an [*Error] with that outcome.
type Outcome string

// The outcome codes of spec Appendix A.4, in the order of its table.
const (
	BadSignature       Outcome = "bad_signature"        // HS-8, GRP-3, GRP-7, KEY-5, KEY-7
	BadFinished        Outcome = "bad_finished"         // HS-9
	LowOrderPoint      Outcome = "low_order_point"      // HS-6
	BadSuite           Outcome = "bad_suite"            // HS-7
	UnexpectedMessage  Outcome = "unexpected_message"   // HS-10, HS-11, REC-12, GRP-14
	Malformed          Outcome = "malformed"            // MSG-1 to MSG-4, ENC-5 to ENC-10
	ReplayedCounter    Outcome = "replayed_counter"     // REC-3, GRP-15
	ReflectedRecord    Outcome = "reflected_record"     // REC-4
	BadTag             Outcome = "bad_tag"              // REC-5, GRP-17
	BadContent         Outcome = "bad_content"          // REC-7
	UnverifiedEnd      Outcome = "unverified_end"       // REC-11
	KeyChanged         Outcome = "key_changed"          // TRUST-2
	KeyNotPinned       Outcome = "key_not_pinned"       // GRP-7, GRP-20
	StaleEpoch         Outcome = "stale_epoch"          // GRP-4, GRP-14
	BadPrev            Outcome = "bad_prev"             // GRP-5
	NotListed          Outcome = "not_listed"           // GRP-2, GRP-6
	BadMembers         Outcome = "bad_members"          // GRP-6
	BadWrap            Outcome = "bad_wrap"             // GRP-8
	BadConfirmationTag Outcome = "bad_confirmation_tag" // GRP-9
	CounterJump        Outcome = "counter_jump"         // GRP-15
	ForgedSender       Outcome = "forged_sender"        // GRP-16
	BadReceipt         Outcome = "bad_receipt"          // RCP-2
	BadEpochAck        Outcome = "bad_epoch_ack"        // GRP-22
)

var outcomes = []Outcome{
	BadSignature, BadFinished, LowOrderPoint, BadSuite, UnexpectedMessage,
	Malformed, ReplayedCounter, ReflectedRecord, BadTag, BadContent, UnverifiedEnd,
	KeyChanged, KeyNotPinned, StaleEpoch, BadPrev, NotListed, BadMembers,
	BadWrap, BadConfirmationTag, CounterJump, ForgedSender,
	BadReceipt,
	BadEpochAck,
}

// Outcomes returns the closed set of outcome codes of spec Appendix A.4.
func Outcomes() []Outcome {
	return append([]Outcome(nil), outcomes...)
}

// Valid reports whether o is one of the codes of spec Appendix A.4.
func (o Outcome) Valid() bool {
	for _, known := range outcomes {
		if o == known {
			return true
		}
	}
	return false
}

// Error makes an Outcome usable as a target of errors.Is.
func (o Outcome) Error() string { return "e2ee: " + string(o) }

// Error is the rejection of an input by the protocol: the outcome code
// (Appendix A.4), the rule id of the spec that requires the rejection, and a
// human-readable detail that never contains key material or plaintext.
type Error struct {
	Outcome Outcome // the code of spec Appendix A.4
	Rule    string  // the rule id, such as "HS-8"
	Detail  string  // what was wrong, for people; never a secret
	Err     error   // the underlying cause, if any
}

// Reject returns an *Error for outcome o under rule, with a detail built
// from format and args as fmt.Sprintf does.
func Reject(o Outcome, rule, format string, args ...any) *Error {
	return &Error{Outcome: o, Rule: rule, Detail: fmt.Sprintf(format, args...)}
}

// Wrap is Reject with an underlying cause that errors.Unwrap returns.
func Wrap(o Outcome, rule string, cause error, format string, args ...any) *Error {
	e := Reject(o, rule, format, args...)
	e.Err = cause
	return e
}

// Error returns "e2ee: OUTCOME [RULE]: DETAIL".
func (e *Error) Error() string {
	msg := "e2ee: " + string(e.Outcome) + " [" + e.Rule + "]"
	if e.Detail != "" {
		msg += ": " + e.Detail
	}
	return msg
}

// Unwrap returns the underlying cause.
func (e *Error) Unwrap() error { return e.Err }

// Is reports whether target is e's Outcome, so that errors.Is(err, e2ee.BadTag)
// works through any wrapping.
func (e *Error) Is(target error) bool {
	o, ok := target.(Outcome)
	return ok && o == e.Outcome
}

// OutcomeOf returns the outcome of the first *Error in err's chain.
func OutcomeOf(err error) (Outcome, bool) {
	var e *Error
	if errors.As(err, &e) {
		return e.Outcome, true
	}
	return "", false
}
