;; The replay scanner's inner loop for default-format (v2) flow logs, in WebAssembly: the same
;; fast paths as FlowLineScanner#scanLines and #rejectV2 (flow-line-scanner.ts), a few times
;; faster than JavaScript can walk bytes. Built into line-kernel-wasm.ts by
;; `npm run build:wasm` (wabt); a test checks that the built bytes are this file's.
;;
;; The caller copies whole lines into the input region and calls `scan(from, to, resolve)`. For
;; each line:
;; - `... start end ACCEPT OK` with a 10-digit start inside the start band: counted here
;;   (count, earliest and latest start, the start histogram), nothing else is needed of it;
;; - `... start end REJECT OK` with a 10-digit start in the band, exactly ten non-empty fields before
;;   `start` and addresses of at most 45 bytes: a record for the caller, unless `resolve` is on
;;   and the address table holds both addresses: then such a row is read here too (counted
;;   among REJECT rows), and handed back only if it counts;
;; - anything else: the kernel stops and returns the line's start (its end in the header); the
;;   caller handles that line its own way and calls again after it. Stopping keeps lines in
;;   order, so a header line that changes the format is seen before the lines after it.
;; A row that counts, read whole, in the window the caller names, is counted here by its source's
;; slot when the caller asks (a count pass that keeps no destinations), instead of being handed
;; back: a busy fleet's file is mostly such rows. A source is an address within its account, so
;; a slot's counts belong to one account: the first 12-byte account-id counted in a slot is kept
;; beside it ($slotAccounts), and a row of the same address in another account (or with an
;; account-id of another length) is handed back as a record, for the caller to count by its key.
;; A record takes a line of at least 35 bytes, so the record region holds every record of a full
;; input region (line-kernel.ts checks that at load).
;;
;; Memory: the header (eight i32 at 0, 4, 8, 12, 16, 20, 24, 28: ACCEPT rows read, earliest and
;; latest start of the rows read (unsigned), records written by the last call, the stopped line's
;; end or -1 (done) or -2 (paused after a record, see `resolve`), REJECT rows read whole; set by
;; the caller, the lowest and highest start (unsigned) a row may have: a row outside that band is
;; a line for the caller; then, at 32 to 48: set by the caller, whether to count rows here (0 or
;; 1) and the lowest and highest start (unsigned) of the window to count them in; rows counted
;; here, and the slots on the dirty list); the input
;; region (with 64 bytes of slack after it, for 16-byte loads past the last line); the record
;; region (eight i32 per record: line start and end, source start and end, destination end, start,
;; source and destination slots (see $lookup; -1: not looked up; both found: a row read whole
;; that counts)); the address table; the start histogram (65,536 u32: rows read whole by start
;; >> 16, about 18 hours a bucket), which the caller reads and clears.
(module
  (memory (export "memory") 292)
  (global (export "inputStart") i32 (i32.const 64))
  (global (export "inputCapacity") i32 (i32.const 2097152))
  (global $recordsStart (export "recordsStart") i32 (i32.const 2097280))
  (global (export "recordCapacity") i32 (i32.const 60000))
  ;; The address table: 262,144 slots of 32 bytes: 16 key bytes (the address, zero-padded), a
  ;; length (0: empty) and a roles byte (EgressFilter#roles bits; 1 = valid), together so that a
  ;; lookup touches one cache line. The caller fills it.
  ;; (A quarter of a million slots: a fleet's blocked egress can reach tens of thousands of
  ;; distinct destinations. On such a file, 65,000 addresses, one REJECT row in seven found an
  ;; address missing with 65,536 slots, one in thirteen with these, one-slot groups.)
  (global $table (export "addressTable") i32 (i32.const 0x400000))
  (global $histogram (export "histogram") i32 (i32.const 0xc00000))
  ;; Rows counted here, by source slot (262,144 u32), and the slots with a count, in the order
  ;; they got one (the caller moves the counts out and clears both after every call).
  (global $slotCounts (export "slotCounts") i32 (i32.const 0xc40000))
  (global $dirty (export "dirtySlots") i32 (i32.const 0xd40000))
  ;; The account of the rows counted in each source slot: 12 bytes of account-id and a 1 in the
  ;; 16th byte (all zero: none yet). The caller zeroes a slot's when it puts another address there.
  (global $slotAccounts (export "slotAccounts") i32 (i32.const 0xe40000))

  ;; One more row read whole, in its start's bucket of the histogram.
  (func $tallyStart (param $start i32)
    (local $at i32)
    (local.set $at
      (i32.add (global.get $histogram) (i32.shl (i32.shr_u (local.get $start) (i32.const 16)) (i32.const 2))))
    (i32.store (local.get $at) (i32.add (i32.load (local.get $at)) (i32.const 1))))

  ;; The slot of the address at `from` (at most 16 bytes) when the table holds it; when not,
  ;; -2 - the slot to put it in (for the caller to fill). The hash is the address's four
  ;; little-endian words mixed by multiplication: addresses differ in a few bytes, which must
  ;; reach the slot bits. Its top 16 bits choose a group of four slots (128 bytes, two cache
  ;; lines), any of which may hold the address: a new address takes the group's first empty slot,
  ;; or, in a full group, the one the next two bits of its hash choose. (With one slot an address,
  ;; a file with 60,000 distinct destinations needed 120,845 fills, each a pause, half of
  ;; them for an address another had just pushed out; four slots to choose from: 64,957.)
  (func $lookup (param $from i32) (param $length i32) (result i32)
    (local $key v128) (local $hash i32) (local $first i32) (local $slot i32) (local $record i32)
    (local $stored i32) (local $free i32)
    ;; the address's bytes, the rest of the line masked off
    (local.set $key
      (v128.and (v128.load (local.get $from))
        (i8x16.gt_u (i8x16.splat (local.get $length))
          (v128.const i8x16 0 1 2 3 4 5 6 7 8 9 10 11 12 13 14 15))))
    (local.set $hash
      (i32.xor (i32.mul (i32x4.extract_lane 0 (local.get $key)) (i32.const 0x9e3779b1))
        (i32x4.extract_lane 1 (local.get $key))))
    (local.set $hash
      (i32.xor (i32.mul (local.get $hash) (i32.const 0x85ebca77)) (i32x4.extract_lane 2 (local.get $key))))
    (local.set $hash
      (i32.xor (i32.mul (local.get $hash) (i32.const 0xc2b2ae3d)) (i32x4.extract_lane 3 (local.get $key))))
    (local.set $hash
      (i32.mul (i32.xor (local.get $hash) (i32.shr_u (local.get $hash) (i32.const 15))) (i32.const 0x27d4eb2f)))
    (local.set $first (i32.shl (i32.shr_u (local.get $hash) (i32.const 16)) (i32.const 2)))
    (local.set $slot (local.get $first))
    (local.set $free (i32.const -1))
    (loop $way
      (local.set $record (i32.add (global.get $table) (i32.shl (local.get $slot) (i32.const 5))))
      (local.set $stored (i32.load8_u offset=16 (local.get $record)))
      (if (i32.and
            (i32.eq (local.get $stored) (local.get $length))
            (i8x16.all_true (i8x16.eq (local.get $key) (v128.load (local.get $record)))))
        (then (return (local.get $slot))))
      (if (i32.and (i32.eqz (local.get $stored)) (i32.lt_s (local.get $free) (i32.const 0)))
        (then (local.set $free (local.get $slot))))
      (local.set $slot (i32.add (local.get $slot) (i32.const 1)))
      (br_if $way (i32.lt_u (i32.sub (local.get $slot) (local.get $first)) (i32.const 4))))
    (if (i32.lt_s (local.get $free) (i32.const 0))
      (then
        (local.set $free
          (i32.add (local.get $first) (i32.and (i32.shr_u (local.get $hash) (i32.const 14)) (i32.const 3))))))
    (i32.sub (i32.const -2) (local.get $free)))

  ;; The first LF at or after p, or `to` when there is none before it: sixteen bytes a step.
  (func $lineEnd (param $p i32) (param $to i32) (result i32)
    (local $mask i32)
    (block $none
      (loop $step
        (br_if $none (i32.ge_u (local.get $p) (local.get $to)))
        (local.set $mask
          (i8x16.bitmask (i8x16.eq (v128.load (local.get $p)) (i8x16.splat (i32.const 10)))))
        (if (local.get $mask)
          (then
            (local.set $p (i32.add (local.get $p) (i32.ctz (local.get $mask))))
            (return
              (select (local.get $to) (local.get $p) (i32.gt_u (local.get $p) (local.get $to))))))
        (local.set $p (i32.add (local.get $p) (i32.const 16)))
        (br $step)))
    (local.get $to))

  ;; `resolve` (0 or 1): look REJECT rows' addresses up in the address table, count the rows
  ;; whose two addresses it holds (valid) and hand back only those that count.
  (func (export "scan") (param $p i32) (param $to i32) (param $resolve i32) (result i32)
    (local $lineStart i32) (local $lineEnd i32) (local $e i32) (local $action i32)
    (local $head i32) (local $tail i32) (local $k i32) (local $digit i32) (local $seconds i64)
    (local $word i64)
    (local $start i32) (local $spaces i32) (local $previous i32) (local $last i32)
    (local $mask i32) (local $rest i32) (local $at i32)
    (local $srcFrom i32) (local $srcTo i32) (local $dstTo i32)
    (local $accepted i32) (local $earliest i32) (local $latest i32)
    (local $records i32) (local $out i32) (local $result i32) (local $stopEnd i32)
    (local $srcSlot i32) (local $dstSlot i32) (local $srcRoles i32) (local $dstRoles i32)
    (local $rejected i32) (local $bandLow i32) (local $bandWidth i32)
    (local $countHere i32) (local $windowLow i32) (local $windowWidth i32) (local $counted i32)
    (local $dirtyCount i32) (local $n i32)
    (local $accountFrom i32) (local $accountTo i32) (local $account v128) (local $kept v128)
    (local.set $accepted (i32.load (i32.const 0)))
    (local.set $countHere (i32.load (i32.const 32)))
    (local.set $windowLow (i32.load (i32.const 36)))
    (local.set $windowWidth (i32.sub (i32.load (i32.const 40)) (local.get $windowLow)))
    (local.set $counted (i32.load (i32.const 44)))
    (local.set $dirtyCount (i32.load (i32.const 48)))
    (local.set $bandLow (i32.load (i32.const 24)))
    (local.set $bandWidth (i32.sub (i32.load (i32.const 28)) (local.get $bandLow)))
    (local.set $earliest (i32.load (i32.const 4)))
    (local.set $latest (i32.load (i32.const 8)))
    (local.set $rejected (i32.load (i32.const 20)))
    (local.set $out (global.get $recordsStart))
    (local.set $result (local.get $to))
    (local.set $stopEnd (i32.const -1))
    (block $exit
      (loop $line
        (br_if $exit (i32.ge_u (local.get $p) (local.get $to)))
        (local.set $lineStart (local.get $p))
        (local.set $lineEnd (call $lineEnd (local.get $p) (local.get $to)))
        (block $other
          ;; e: the line's end without a CR
          (local.set $e (local.get $lineEnd))
          (if (i32.eq (i32.load8_u (i32.sub (local.get $e) (i32.const 1))) (i32.const 13))
            (then (local.set $e (i32.sub (local.get $e) (i32.const 1)))))
          (br_if $other (i32.le_s (i32.sub (local.get $e) (local.get $lineStart)) (i32.const 34)))
          ;; `OK`, then ` ACCEPT` or ` REJECT` before it, as little-endian words
          (br_if $other
            (i32.ne (i32.load16_u (i32.sub (local.get $e) (i32.const 2))) (i32.const 0x4b4f)))
          (local.set $head (i32.load (i32.sub (local.get $e) (i32.const 10))))
          (local.set $tail (i32.load (i32.sub (local.get $e) (i32.const 6))))
          (local.set $action (i32.const 0))
          (if (i32.and (i32.eq (local.get $head) (i32.const 0x43434120))
                       (i32.eq (local.get $tail) (i32.const 0x20545045)))
            (then (local.set $action (i32.const 1))))
          (if (i32.and (i32.eq (local.get $head) (i32.const 0x4a455220))
                       (i32.eq (local.get $tail) (i32.const 0x20544345)))
            (then (local.set $action (i32.const 2))))
          (br_if $other (i32.eqz (local.get $action)))
          ;; ` start end `: spaces at e-32 and e-21, no space in the ten bytes of `end`
          (br_if $other (i32.ne (i32.load8_u (i32.sub (local.get $e) (i32.const 21))) (i32.const 32)))
          (br_if $other (i32.ne (i32.load8_u (i32.sub (local.get $e) (i32.const 32))) (i32.const 32)))
          ;; (eight bytes at a time: a space becomes a zero byte, found by the borrow trick)
          (local.set $word (i64.xor (i64.load (i32.sub (local.get $e) (i32.const 20))) (i64.const 0x2020202020202020)))
          (br_if $other
            (i64.ne (i64.const 0)
              (i64.and (i64.and (i64.sub (local.get $word) (i64.const 0x0101010101010101))
                                (i64.xor (local.get $word) (i64.const -1)))
                       (i64.const 0x8080808080808080))))
          (br_if $other (i32.eq (i32.load8_u (i32.sub (local.get $e) (i32.const 12))) (i32.const 32)))
          (br_if $other (i32.eq (i32.load8_u (i32.sub (local.get $e) (i32.const 11))) (i32.const 32)))
          ;; start: ten digits at e-31 (eight as one word: each byte 0x30-0x39, then combined in
          ;; pairs, fours and eights by multiplication), fitting an unsigned 32-bit number
          (local.set $word (i64.load (i32.sub (local.get $e) (i32.const 31))))
          (br_if $other
            (i64.ne (i64.and (local.get $word) (i64.const 0xf0f0f0f0f0f0f0f0)) (i64.const 0x3030303030303030)))
          (br_if $other
            (i64.ne (i64.and (i64.add (local.get $word) (i64.const 0x0606060606060606)) (i64.const 0xf0f0f0f0f0f0f0f0))
                    (i64.const 0x3030303030303030)))
          (local.set $word (i64.sub (local.get $word) (i64.const 0x3030303030303030)))
          (local.set $word
            (i64.and (i64.add (i64.mul (local.get $word) (i64.const 10)) (i64.shr_u (local.get $word) (i64.const 8)))
                     (i64.const 0x00ff00ff00ff00ff)))
          (local.set $word
            (i64.and (i64.add (i64.mul (local.get $word) (i64.const 100)) (i64.shr_u (local.get $word) (i64.const 16)))
                     (i64.const 0x0000ffff0000ffff)))
          (local.set $word
            (i64.and (i64.add (i64.mul (local.get $word) (i64.const 10000)) (i64.shr_u (local.get $word) (i64.const 32)))
                     (i64.const 0xffffffff)))
          (local.set $digit (i32.sub (i32.load8_u (i32.sub (local.get $e) (i32.const 23))) (i32.const 48)))
          (br_if $other (i32.gt_u (local.get $digit) (i32.const 9)))
          (local.set $seconds
            (i64.add (i64.mul (local.get $word) (i64.const 100)) (i64.extend_i32_u (i32.mul (local.get $digit) (i32.const 10)))))
          (local.set $digit (i32.sub (i32.load8_u (i32.sub (local.get $e) (i32.const 22))) (i32.const 48)))
          (br_if $other (i32.gt_u (local.get $digit) (i32.const 9)))
          (local.set $seconds (i64.add (local.get $seconds) (i64.extend_i32_u (local.get $digit))))
          (br_if $other (i64.gt_u (local.get $seconds) (i64.const 0xffffffff)))
          (local.set $start (i32.wrap_i64 (local.get $seconds)))
          ;; outside the band: the caller says why the line is malformed
          (br_if $other (i32.gt_u (i32.sub (local.get $start) (local.get $bandLow)) (local.get $bandWidth)))
          (if (i32.eq (local.get $action) (i32.const 1))
            (then
              (local.set $accepted (i32.add (local.get $accepted) (i32.const 1)))
              (call $tallyStart (local.get $start))
              (if (i32.lt_u (local.get $start) (local.get $earliest))
                (then (local.set $earliest (local.get $start))))
              (if (i32.gt_u (local.get $start) (local.get $latest))
                (then (local.set $latest (local.get $start))))
              (local.set $p (i32.add (local.get $lineEnd) (i32.const 1)))
              (br $line)))
          ;; REJECT: exactly ten non-empty fields before `start` (version, account-id,
          ;; interface-id, srcaddr, dstaddr, srcport, dstport, protocol, packets, bytes), so the
          ;; tenth space is the one before `start`
          (local.set $spaces (i32.const 0))
          ;; The byte before the line counts as a space: an empty first field shows as two in a row.
          (local.set $previous (i32.const 1))
          (local.set $last (i32.sub (local.get $e) (i32.const 32)))
          (local.set $k (local.get $lineStart))
          (loop $block
            ;; the spaces among sixteen bytes, as bits; none past the space before `start`
            (local.set $mask
              (i8x16.bitmask (i8x16.eq (v128.load (local.get $k)) (i8x16.splat (i32.const 32)))))
            (local.set $rest (i32.sub (local.get $last) (local.get $k)))
            (if (i32.lt_u (local.get $rest) (i32.const 15))
              (then
                (local.set $mask
                  (i32.and (local.get $mask)
                    (i32.sub (i32.shl (i32.const 2) (local.get $rest)) (i32.const 1))))))
            ;; an empty field: a space right after a space
            (br_if $other
              (i32.and (local.get $mask)
                (i32.or (i32.shl (local.get $mask) (i32.const 1)) (local.get $previous))))
            (local.set $previous (i32.shr_u (local.get $mask) (i32.const 15)))
            ;; the 3rd, 4th and 5th spaces bound srcaddr and dstaddr
            (block $found
              (loop $bit
                (br_if $found (i32.ge_u (local.get $spaces) (i32.const 5)))
                (br_if $found (i32.eqz (local.get $mask)))
                (local.set $at (i32.add (local.get $k) (i32.ctz (local.get $mask))))
                (local.set $mask (i32.and (local.get $mask) (i32.sub (local.get $mask) (i32.const 1))))
                (local.set $spaces (i32.add (local.get $spaces) (i32.const 1)))
                (if (i32.eq (local.get $spaces) (i32.const 1))
                  (then (local.set $accountFrom (i32.add (local.get $at) (i32.const 1)))))
                (if (i32.eq (local.get $spaces) (i32.const 2)) (then (local.set $accountTo (local.get $at))))
                (if (i32.eq (local.get $spaces) (i32.const 3))
                  (then (local.set $srcFrom (i32.add (local.get $at) (i32.const 1)))))
                (if (i32.eq (local.get $spaces) (i32.const 4)) (then (local.set $srcTo (local.get $at))))
                (if (i32.eq (local.get $spaces) (i32.const 5)) (then (local.set $dstTo (local.get $at))))
                (br $bit)))
            (local.set $spaces (i32.add (local.get $spaces) (i32.popcnt (local.get $mask))))
            (local.set $k (i32.add (local.get $k) (i32.const 16)))
            (br_if $block (i32.le_u (local.get $k) (local.get $last))))
          (br_if $other (i32.ne (local.get $spaces) (i32.const 10)))
          ;; no address is longer than 45 bytes (IPv6 with an embedded IPv4)
          (br_if $other (i32.gt_u (i32.sub (local.get $srcTo) (local.get $srcFrom)) (i32.const 45)))
          (br_if $other
            (i32.gt_u (i32.sub (local.get $dstTo) (i32.add (local.get $srcTo) (i32.const 1))) (i32.const 45)))
          (local.set $srcSlot (i32.const -1))
          (local.set $dstSlot (i32.const -1))
          (if (local.get $resolve)
            (then
              (if (i32.le_u (i32.sub (local.get $srcTo) (local.get $srcFrom)) (i32.const 16))
                (then
                  (local.set $srcSlot
                    (call $lookup (local.get $srcFrom) (i32.sub (local.get $srcTo) (local.get $srcFrom))))))
              (if (i32.le_u (i32.sub (local.get $dstTo) (local.get $srcTo)) (i32.const 17))
                (then
                  (local.set $dstSlot
                    (call $lookup (i32.add (local.get $srcTo) (i32.const 1))
                      (i32.sub (i32.sub (local.get $dstTo) (local.get $srcTo)) (i32.const 1))))))
              (if (i32.and (i32.ge_s (local.get $srcSlot) (i32.const 0)) (i32.ge_s (local.get $dstSlot) (i32.const 0)))
                (then
                  (local.set $srcRoles
                    (i32.load8_u offset=17 (i32.add (global.get $table) (i32.shl (local.get $srcSlot) (i32.const 5)))))
                  (local.set $dstRoles
                    (i32.load8_u offset=17 (i32.add (global.get $table) (i32.shl (local.get $dstSlot) (i32.const 5)))))
                  ;; an address that is not valid: the caller's general path says what the line is
                  (br_if $other (i32.eqz (i32.and (i32.and (local.get $srcRoles) (local.get $dstRoles)) (i32.const 1))))
                  (local.set $rejected (i32.add (local.get $rejected) (i32.const 1)))
                  (call $tallyStart (local.get $start))
                  (if (i32.lt_u (local.get $start) (local.get $earliest))
                    (then (local.set $earliest (local.get $start))))
                  (if (i32.gt_u (local.get $start) (local.get $latest))
                    (then (local.set $latest (local.get $start))))
                  (local.set $p (i32.add (local.get $lineEnd) (i32.const 1)))
                  ;; counts: a counting source (2) to a counting destination (4)
                  (br_if $line
                    (i32.eqz (i32.and (i32.and (local.get $srcRoles) (i32.const 2))
                                      (i32.shr_u (i32.and (local.get $dstRoles) (i32.const 4)) (i32.const 1)))))
                  ;; it counts: counted here (in the window, when asked, of a 12-byte account the
                  ;; slot's rows share), else a record with both slots found
                  (if $inKernel (i32.and (local.get $countHere)
                               (i32.and
                                 (i32.le_u (i32.sub (local.get $start) (local.get $windowLow)) (local.get $windowWidth))
                                 (i32.eq (i32.sub (local.get $accountTo) (local.get $accountFrom)) (i32.const 12))))
                    (then
                      (local.set $account
                        (v128.or
                          (v128.and (v128.load (local.get $accountFrom))
                            (v128.const i8x16 -1 -1 -1 -1 -1 -1 -1 -1 -1 -1 -1 -1 0 0 0 0))
                          (v128.const i8x16 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 1)))
                      (local.set $at (i32.add (global.get $slotAccounts) (i32.shl (local.get $srcSlot) (i32.const 4))))
                      (local.set $kept (v128.load (local.get $at)))
                      (if (i32.eqz (v128.any_true (local.get $kept)))
                        (then
                          (v128.store (local.get $at) (local.get $account))
                          (local.set $kept (local.get $account))))
                      ;; another account's row of this address: a record
                      (br_if $inKernel
                        (i32.eqz (i8x16.all_true (i8x16.eq (local.get $kept) (local.get $account)))))
                      (local.set $at (i32.add (global.get $slotCounts) (i32.shl (local.get $srcSlot) (i32.const 2))))
                      (local.set $n (i32.load (local.get $at)))
                      (if (i32.eqz (local.get $n))
                        (then
                          (i32.store (i32.add (global.get $dirty) (i32.shl (local.get $dirtyCount) (i32.const 2)))
                            (local.get $srcSlot))
                          (local.set $dirtyCount (i32.add (local.get $dirtyCount) (i32.const 1)))))
                      (i32.store (local.get $at) (i32.add (local.get $n) (i32.const 1)))
                      (local.set $counted (i32.add (local.get $counted) (i32.const 1)))
                      (br $line)))
                  ))))
          (i32.store (local.get $out) (local.get $lineStart))
          (i32.store offset=4 (local.get $out) (local.get $lineEnd))
          (i32.store offset=8 (local.get $out) (local.get $srcFrom))
          (i32.store offset=12 (local.get $out) (local.get $srcTo))
          (i32.store offset=16 (local.get $out) (local.get $dstTo))
          (i32.store offset=20 (local.get $out) (local.get $start))
          (i32.store offset=24 (local.get $out) (local.get $srcSlot))
          (i32.store offset=28 (local.get $out) (local.get $dstSlot))
          (local.set $out (i32.add (local.get $out) (i32.const 32)))
          (local.set $records (i32.add (local.get $records) (i32.const 1)))
          (local.set $p (i32.add (local.get $lineEnd) (i32.const 1)))
          ;; An address the table does not hold: pause, so that the caller fills its slot before
          ;; a later line finds that slot (holding another address, until then).
          (if (i32.or (i32.lt_s (local.get $srcSlot) (i32.const -1)) (i32.lt_s (local.get $dstSlot) (i32.const -1)))
            (then
              (local.set $result (local.get $p))
              (local.set $stopEnd (i32.const -2))
              (br $exit)))
          (br $line))
        ;; a line for the caller
        (local.set $result (local.get $lineStart))
        (local.set $stopEnd (local.get $lineEnd))))
    (i32.store (i32.const 0) (local.get $accepted))
    (i32.store (i32.const 4) (local.get $earliest))
    (i32.store (i32.const 8) (local.get $latest))
    (i32.store (i32.const 12) (local.get $records))
    (i32.store (i32.const 16) (local.get $stopEnd))
    (i32.store (i32.const 20) (local.get $rejected))
    (i32.store (i32.const 44) (local.get $counted))
    (i32.store (i32.const 48) (local.get $dirtyCount))
    (local.get $result))
)
