/**
 * Workflow changes made after histories existed, each behind `patched(id)` so that a payment started before the change
 * replays its old branch (workflows/README.md, "Replay safety and versioning"). `test/workflows/replay.test.ts`
 * requires a committed history holding each id's marker. The incompatible changes before the first (the merchant's requests
 * as Updates, the memo summary) came before any production history and re-recorded the fixtures instead.
 */
export const PATCH = {
  /**
   * An operator's give-up on a parked refund first asks Plural for the refund by its reference (`findRefund`) and
   * records what Plural holds; before, the refund was marked FAILED (`REFUND_ABANDONED`) unasked.
   */
  REFUND_GIVE_UP_ASKS_PLURAL: 'refund-give-up-asks-plural',
  /**
   * Nothing waits forever: a parked capture waits for an operator only until the automatic cancel time (then the
   * authorization is cancelled), a parked cancel is tried again on the reconciliation backoff until the authorization
   * expires and answers its requests as soon as it parks, OTPs and resends still queued when authentication ends are
   * answered then, and a step that failed for missing card data is no longer parked.
   */
  NOTHING_WAITS_FOREVER: 'nothing-waits-forever',
  /**
   * The same OTP again (`otpDigest`) joins the submission queued or in flight, or is answered INCORRECT when Plural
   * refused it last, instead of being sent to Plural once more. Called only when a repeat is seen: an API that sent
   * digests to workers of the build before (which queued every repeat) leaves histories that replay their old branch.
   */
  OTP_REPEATS_JOIN: 'otp-repeats-join',
  /**
   * A late authorization's cancel (Plural authorized while the payment was closing) that parks is tried again on its
   * own after the longest reconciliation delay, as a parked cancel of an authorized payment is. Its deadline came from
   * the authorization's expiry, which a payment that never was AUTHORIZED does not have: it waited for an operator,
   * the authorization open at Plural meanwhile.
   */
  LATE_AUTHORIZATION_CANCEL_RETRIED: 'late-authorization-cancel-retried',
  /**
   * A closing payment whose refund of money Plural took is still PENDING ends only once that refund is confirmed;
   * before, Plural's order read as refunded (a REFUND_* webhook confirms the parent order first) ended it at once, the
   * refund's record left PENDING for good.
   */
  CLOSING_WAITS_FOR_ITS_REFUND: 'closing-waits-for-its-refund',
  /**
   * A refund of the payment's order made outside the engine (Plural's dashboard), named by its REFUND_* webhook, is
   * read at Plural (`readRefund`) and recorded (`EXTERNAL`), so that the refunded amount and what is left to refund
   * agree with Plural; before, only a refund of the whole order counted (Plural's order then reads FULLY_REFUNDED).
   * Called only when an event names a refund order none of the payment's refunds has.
   */
  EXTERNAL_REFUNDS_RECORDED: 'external-refunds-recorded',
  /**
   * A step that parks while the order opens (Create Order, the card lookup, the points balance, Create Payment,
   * Generate OTP) waits for an operator only until the customer's authentication window, counted from the payment's
   * start, has passed; then the payment fails (no order) or closes (AUTHENTICATION_WINDOW_CLOSED). Before, it waited
   * for an operator alone, long after the customer had left and the card hand-off had expired. Called only when such
   * a step parks.
   */
  OPENING_PARK_ENDS_WITH_THE_WINDOW: 'opening-park-ends-with-the-window',
  /**
   * A refund window whose history is long enough to continue as new wakes to do so once the Updates it answered have
   * finished; before, only a payment with merchant webhooks did, and one without waited for the next event (Plural's
   * webhook), so that merchant refunds alone (each an Update, unfinished when the window looked) grew its history
   * without end. Called only when the window waits with a history that long and the payment has no merchant webhooks
   * (once per run: a continued run that grows long again records it again).
   */
  REFUND_WINDOW_WAKES_TO_CONTINUE: 'refund-window-wakes-to-continue',
  /**
   * A sale in PROCESSING (Plural reported it AUTHORIZED) whose order Plural then cancels ends CANCELLED, as Plural says;
   * before, the move was not in the transition table: it was noted and ignored, and the payment read Plural's order on
   * its backoff for ever. Called only when such an order is read.
   */
  PROCESSING_FOLLOWS_PLURALS_CANCEL: 'processing-follows-plurals-cancel',
  /**
   * A payment closing after Plural took money reads the refund orders Plural's REFUND_* events named (one made by hand
   * on Plural's dashboard) and records them (`EXTERNAL`) before it refunds, and again after an operator's retry of a
   * blocked refund, so that its refund is of what Plural still holds; before, it refunded everything Plural's order
   * showed taken, Plural refused that, and the payment parked. Called only when such an order is named while closing.
   */
  CLOSING_COUNTS_NAMED_REFUNDS: 'closing-counts-named-refunds',
  /**
   * Plural answered an automatic cancel (or a closing payment's cancel of a late authorization) with its order still
   * AUTHORIZED: the engine reads the order and asks again after a pause (the longest reconciliation delay, or the
   * closing phase's backoff); before, it cancelled again at once, a loop with no timer that only Plural's next answer
   * could end. Called only on that answer.
   */
  CANCEL_AGAIN_AFTER_A_PAUSE: 'cancel-again-after-a-pause',
  /**
   * A parked capture (on Plural's refusal, or Plural unreachable past the retries) confirms the gateway events that
   * come while it waits for an operator, and the payment follows Plural's order when it is no longer AUTHORIZED
   * (captured, cancelled or failed there); before, the park woke only for an operator, a cancel or the automatic
   * cancel time (days later). Called at each such park, and at the park of an automatic cancel Plural keeps answering
   * without effect past the authorization's expiry (a park that exists only behind `CANCEL_AGAIN_AFTER_A_PAUSE`).
   */
  PARKED_CAPTURE_CONFIRMS_EVENTS: 'parked-capture-confirms-events',
  /**
   * A sale Plural leaves AUTHORIZED (PROCESSING here) continues as new once its history is long and nothing is in
   * flight; before, it read Plural's order every `reconcileMaxDelayMs` in one run until Temporal's history limit
   * (about two weeks at the default five minutes) would have ended it. Called only when such a history is long.
   */
  PROCESSING_SALE_CONTINUES_AS_NEW: 'processing-sale-continues-as-new',
  /**
   * A CLOSING payment whose order Plural does not end (a checkout link left open) continues as new once its history is
   * long and nothing is in flight, except while a late authorization's cancel is asked again; before, it read the
   * order on its backoff (hourly) in one run until Temporal's history limit (about half a year) would have ended it.
   * Called only when such a history is long.
   */
  CLOSING_WATCH_CONTINUES_AS_NEW: 'closing-watch-continues-as-new',
  /**
   * A gateway event that says Plural decided the order (authorized, processed, failed, cancelled) while the Get Order
   * confirming it still reads the order open is read again, up to `EVENT_LAG_LOOKS` times `EVENT_LAG_LOOK_MS` apart,
   * and the authentication window waits for those looks before it closes; before, the event was dropped after one
   * read, and a payment whose order lagged its callback in the window's last minutes was closed (its authorization
   * cancelled, its sale refunded). Called only when such an event meets an open order.
   */
  EVENTS_AHEAD_OF_THE_ORDER_READ_AGAIN: 'events-ahead-of-the-order-read-again',
  /**
   * A cancel parked on Plural unreachable (the merchant's, the automatic one, or a late authorization's while closing)
   * confirms the gateway events that come while it waits, and ends its wait once Plural's order is no longer
   * AUTHORIZED (cancelled or captured there); before, past the authorization's expiry (no retry time left) it waited
   * for an operator alone, with Plural's ORDER_CANCELLED webhook unread. Called at each such park.
   */
  PARKED_CANCEL_CONFIRMS_EVENTS: 'parked-cancel-confirms-events',
  /**
   * The authentication window closes on an answer: when its last Get Order fails, Plural's order is read again on the
   * reconciliation backoff until Plural answers, and after an OTP Plural accepted whose order still reads open, up to
   * `EVENT_LAG_LOOKS` times `EVENT_LAG_LOOK_MS` apart; before, the payment closed at once (and the closing phase
   * cancelled, or refunded, an authorization Plural had given in time). Called only on those paths.
   */
  WINDOW_CLOSES_ON_AN_ANSWER: 'window-closes-on-an-answer',
  /**
   * An operator's retry is answered once the step has run again when that step succeeded and then parked afresh in the
   * same workflow task (an automatic cancel parked past the authorization's expiry that Plural answers again with its
   * order still AUTHORIZED parks again); before, the retry's Update waited until the payment moved (Plural's webhook, a
   * give-up), its caller told 202 meanwhile. Called at each operator retry, as it is accepted (the condition its
   * answer waits on is registered then, as before).
   */
  OPERATOR_RETRY_ANSWERS_A_NEW_PARK: 'operator-retry-answers-a-new-park',
  /**
   * A cancel that came while the order was opened (the merchant's while Create Order was retried, or an operator's
   * give-up sent while a retried Create Order ran) closes the payment before Create Payment; before, the card went to
   * Plural (and an OTP to the customer) first, and a sale Plural processed at once ended PROCESSED though an operator
   * had given up. Likewise a step before Create Payment (the card lookup, the points check) parked with the order open
   * ends the payment at once when given up on (CANCELLED) or waited out (FAILED), where it closed and watched Plural's
   * order until Plural expired it. Called only when such a cancel is waiting there, or on those two paths.
   */
  CANCEL_BEFORE_CREATE_PAYMENT: 'cancel-before-create-payment',
  /**
   * An OTP queued while the one before it was with Plural, which refused that one offering only a resend, is answered
   * IGNORED without being sent (Plural takes none until a resend, and may count it as an attempt); before, it was sent
   * to Plural. Called only when such a queued OTP's turn comes.
   */
  OTP_HELD_UNTIL_A_RESEND: 'otp-held-until-a-resend',
  /**
   * The memo (the amounts a search lists) is rewritten when a read of Plural's order moves the amounts taken or
   * refunded with no change of status (a refund made on Plural's dashboard that the order now counts, say); before, it
   * kept the amounts of the last status change or refund, for good once the payment ended. Called only when a read left
   * the memo behind.
   */
  MEMO_FOLLOWS_PLURALS_AMOUNTS: 'memo-follows-plurals-amounts',
  /**
   * A payment that ends, or starts closing, while its order opens, before a Create Payment that succeeded (a
   * rejection, a cancel, a parked step given up on or waited out, invalid input) destroys its card hand-offs (card,
   * CVV, network token) in the vault with an activity; before, they waited there for their TTL (15 minutes), Create
   * Payment being the only step that destroyed them. Called only on that path.
   */
  UNUSED_HAND_OFF_DISCARDED: 'unused-hand-off-discarded',
  /**
   * A cancel that came during the final Get Order of a closing authentication window closes the payment as that
   * cancel (CANCELLED, its reason), as one that came before the window's end or during its last looks does; before,
   * the payment closed as the window's (FAILED, AUTHENTICATION_WINDOW_CLOSED) and the cancel was answered as a repeat.
   * Called only when such a cancel is waiting.
   */
  WINDOW_END_HONOURS_A_CANCEL: 'window-end-honours-a-cancel',
  /**
   * Resends still queued when the authentication window has passed (they came in time, while a step ran past its
   * end) are answered IGNORED without going to Plural; before, they were sent, a new OTP the customer could no longer
   * use. Called only when such a resend's turn comes.
   */
  NO_RESEND_AFTER_THE_WINDOW: 'no-resend-after-the-window',
  /**
   * An operator's retry of a capture Plural refused, refused again, keeps the capture parked while Plural's order is
   * read, and the retry is answered with it parked again (its `retries` counted); before, the step was unparked for
   * that read (its search attribute `none`), the retry answered with the payment AUTHORIZED and unparked, and the
   * capture parked afresh (`retries` 0) a moment later. Called only on that path.
   */
  CAPTURE_RETRY_STAYS_PARKED: 'capture-retry-stays-parked',
} as const;

/** A patch id of {@link PATCH}. */
export type PatchId = (typeof PATCH)[keyof typeof PATCH];
