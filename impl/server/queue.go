package server

import (
	"slices"
	"sync"
	"time"

	"github.com/gobwas/ws"
)

// sendQueue is a connection's bounded send queue (spec §5.8 [LIM-1]) and the state of its
// writer. The writer is a goroutine that runs only while there is something to write: an idle
// connection has none, and holds no queue storage.
type sendQueue struct {
	qmu      sync.Mutex
	queue    [][]byte      // encoded messages waiting, oldest first
	owners   []uint64      // with queue once a sender's share is counted or a frame is pooled: the sending connection's id, 0 for none, with pooledFrame for a frame from the frame pool
	shares   []share       // per sending connection with something queued or being written (spec §5.5 [SES-5])
	pending  int           // messages queued or being written: at most Config.Queue
	pendingB int           // their bytes: at most Config.QueueBytes, unless pending is 1
	due      controls      // control frames waiting to be written
	writing  bool          // a writer holds the role (a goroutine, lingering or not, or the reader)
	finished bool          // the close was written (or given up): nothing more is written
	room     chan struct{} // made by a waiting queueOwn, closed when a write ends
	pinger   *time.Timer   // the keepalive (startPings), armed unless the connection is closing

	lingering       bool          // the writer goroutine waits for more (writerLinger)
	wakeWriter      chan struct{} // wakes a lingering writer; made by the writer, dropped when it exits
	writeDeadlineAt time.Time     // the write deadline in use (writeDeadline); the writer's own
	owed            []share       // scratch for owedOf; the writer's own

	// The storage of the batch last written, for the queue to fill next (reuseLocked): a
	// busy connection's queue and its owners alternate between two arrays instead of
	// growing new ones for every batch. Guarded by qmu.
	spare       [][]byte
	spareOwners []uint64
}

// pooledFrame marks, in owners, a frame that came from the frame pool (framepool.go): it goes
// back once written. Connection ids never reach it.
const pooledFrame = 1 << 63

// controls are the control frames a batch carries after its messages: a keepalive ping (spec
// §4.2 [WS-7]) and the pong owed for the client's latest ping, which is the only one that needs
// an answer (RFC 6455 §5.5.3).
type controls struct {
	ping     bool
	pong     bool
	pongData string // the ping's application data, at most 125 bytes (RFC 6455 §5.5)
}

func (x controls) none() bool { return !x.ping && !x.pong }

// add adds y's frames to x; y's pong replaces x's.
func (x *controls) add(y controls) {
	x.ping = x.ping || y.ping
	if y.pong {
		x.pong, x.pongData = true, y.pongData
	}
}

// writerLinger is how long a writer goroutine waits for more before it exits: a connection
// exchanging messages keeps its writer (starting one costs its stack's growth), an idle one
// has none.
const writerLinger = time.Second

// writeDeadline returns the deadline for a write starting now: WriteTimeout from now, moved at
// most once a second (or an eighth of WriteTimeout; moving it costs a timer update), so never
// less than WriteTimeout minus that away. The holder of the writer's role calls it.
func (c *conn) writeDeadline() time.Time {
	now := time.Now()
	slack := min(time.Second, c.s.cfg.WriteTimeout/8)
	if c.writeDeadlineAt.Sub(now) < c.s.cfg.WriteTimeout-slack {
		c.writeDeadlineAt = now.Add(c.s.cfg.WriteTimeout)
	}
	return c.writeDeadlineAt
}

// isQuit reports whether requestClose has run.
func (c *conn) isQuit() bool {
	select {
	case <-c.quit:
		return true
	default:
		return false
	}
}

// fitsLocked reports whether a message of n bytes fits the queue: under Config.Queue messages
// and Config.QueueBytes bytes, except that an empty queue takes any message the size limit
// let through (spec §5.8 [LIM-5]). Callers hold qmu.
func (c *conn) fitsLocked(n int) bool {
	return c.pending == 0 || (c.pending < c.s.cfg.Queue && c.pendingB+n <= c.s.cfg.QueueBytes)
}

// addLocked counts frame into the queue. Callers hold qmu.
func (c *conn) addLocked(frame []byte) {
	if c.queue == nil && c.spare != nil {
		c.queue, c.spare = c.spare, nil
	}
	c.queue = append(c.queue, frame)
	if c.owners != nil {
		c.owners = append(c.owners, 0)
	}
	c.pending++
	c.pendingB += len(frame)
}

// share is what one sender has in a connection's queue: messages and bytes. A queue holds
// the messages of few senders at once, so they are kept in a slice.
type share struct {
	sender uint64
	n, b   int
}

// shareOfLocked returns the index of sender's share, or -1. Callers hold qmu.
func (c *conn) shareOfLocked(sender uint64) int {
	for i := range c.shares {
		if c.shares[i].sender == sender {
			return i
		}
	}
	return -1
}

// shareFitsLocked reports whether a message of n bytes from sender fits its share of the queue:
// QueueShare percent of Config.Queue and of Config.QueueBytes, except that a sender with nothing
// queued may always queue one message, as an empty queue takes any (spec §5.5 [SES-5]). Callers
// hold qmu.
func (c *conn) shareFitsLocked(sender uint64, n int) bool {
	i := c.shareOfLocked(sender)
	if i < 0 {
		return true
	}
	sh, cfg := c.shares[i], &c.s.cfg
	return sh.n < max(1, cfg.Queue*cfg.QueueShare/100) && sh.b+n <= cfg.QueueBytes*cfg.QueueShare/100
}

// addFromLocked is addLocked for a message whose sender's share is counted (sender 0: none),
// and that pooled says came from the frame pool. Callers hold qmu.
func (c *conn) addFromLocked(frame []byte, sender uint64, pooled bool) {
	if c.owners == nil {
		owners := c.spareOwners[:0]
		if owners == nil {
			owners = make([]uint64, 0, cap(c.queue)+1)
		}
		for range c.queue {
			owners = append(owners, 0)
		}
		c.owners, c.spareOwners = owners, nil
	}
	c.addLocked(frame)
	if pooled {
		c.owners[len(c.owners)-1] = sender | pooledFrame
	} else {
		c.owners[len(c.owners)-1] = sender
	}
	if sender == 0 {
		return
	}
	if i := c.shareOfLocked(sender); i >= 0 {
		c.shares[i].n++
		c.shares[i].b += len(frame)
	} else {
		c.shares = append(c.shares, share{sender: sender, n: 1, b: len(frame)})
	}
}

// unshareLocked gives back the shares of written messages (owedOf of one batch). Callers hold
// qmu.
func (c *conn) unshareLocked(owed []share) {
	for _, o := range owed {
		i := c.shareOfLocked(o.sender)
		if i < 0 {
			continue
		}
		c.shares[i].n -= o.n
		c.shares[i].b -= o.b
		if c.shares[i].n <= 0 {
			c.shares = slices.Delete(c.shares, i, i+1)
		}
	}
	if len(c.shares) == 0 {
		c.shares = nil
	}
}

// owedOf sums the shares of a batch by sender, appending them to owed[:0]; empty when no
// message of it is counted.
func owedOf(owed []share, batch [][]byte, owners []uint64) []share {
	owed = owed[:0]
	for i, id := range owners {
		id &^= pooledFrame
		if id == 0 {
			continue
		}
		j := slices.IndexFunc(owed, func(o share) bool { return o.sender == id })
		if j < 0 {
			owed = append(owed, share{sender: id})
			j = len(owed) - 1
		}
		owed[j].n++
		owed[j].b += len(batch[i])
	}
	return owed
}

// doneLocked counts n messages of b bytes out of the queue once written, and wakes a
// queueOwn waiting for room. Callers hold qmu.
func (c *conn) doneLocked(n, b int) {
	c.pending -= n
	c.pendingB -= b
	if c.room != nil {
		close(c.room)
		c.room = nil
	}
}

// kickLocked starts the writer, or wakes it when it lingers, unless it runs or has finished.
// Callers hold qmu.
func (c *conn) kickLocked() {
	switch {
	case c.finished:
	case c.lingering:
		c.lingering = false
		select {
		case c.wakeWriter <- struct{}{}:
		default:
		}
	case !c.writing:
		c.writing = true
		go c.writer()
	}
}

// kick is kickLocked for callers that do not hold qmu.
func (c *conn) kick() {
	c.qmu.Lock()
	c.kickLocked()
	c.qmu.Unlock()
}

// enqueue appends an encoded message to the send queue without blocking. When the queue is full
// the connection is a slow consumer: it is closed with 4002 and enqueue reports false, so that
// the sender can be told (spec §5.8 [LIM-1] [LIM-2]). It may run under the hub's lock.
func (c *conn) enqueue(frame []byte) bool { return c.enqueueFrom(frame, nil) == delivered }

// enqueueFrom is enqueue for a 1:1 message from sender (nil: none), whose share of the queue is
// bounded: beyond it the message is refused (deliverShare) and this connection stays open
// (spec §5.5 [SES-5]). A full queue closes this connection with 4002 (deliverFull). It never
// blocks, and may run under the hub's lock.
func (c *conn) enqueueFrom(frame []byte, sender *conn) delivery {
	if sender == nil {
		return c.enqueueFromID(frame, 0, false)
	}
	return c.enqueueFromID(frame, sender.id, sender.lends(frame))
}

// enqueueFromID is enqueueFrom for the sender whose share is counted under id (0: none); a
// sender on another relay of a cluster has an id of its own (remoteSenderID). pooled says that
// frame is a pooled frame the sender lends (lends): it goes back to the pool once written.
func (c *conn) enqueueFromID(frame []byte, sender uint64, pooled bool) delivery {
	c.qmu.Lock()
	return c.enqueueLocked(frame, sender, pooled)
}

// enqueueRouted is enqueueFrom for a relay that its sender routes (routeTo): ok is false, and
// nothing queued, when the hub has changed since generation gen.
func (c *conn) enqueueRouted(frame []byte, sender *conn, gen uint64) (d delivery, ok bool) {
	c.qmu.Lock()
	if c.s.hub.gen.Load() != gen {
		c.qmu.Unlock()
		return 0, false
	}
	return c.enqueueLocked(frame, sender.id, sender.lends(frame)), true
}

// enqueueLocked is the rest of enqueueFromID, called with qmu held, which it releases.
func (c *conn) enqueueLocked(frame []byte, sender uint64, pooled bool) delivery {
	if c.isQuit() {
		c.qmu.Unlock()
		return deliverFull
	}
	if !c.fitsLocked(len(frame)) {
		c.qmu.Unlock()
		// spec §5.8 [LIM-2]: a full queue closes the connection with 4002.
		c.s.metrics.QueueDrops.Inc()
		c.requestClose(CloseSlowConsumer, "slow consumer")
		return deliverFull
	}
	// spec §5.5 [SES-5]: one sender alone never fills the queue, so it cannot get its
	// recipient closed; it is refused instead.
	if sender != 0 && !c.shareFitsLocked(sender, len(frame)) {
		c.qmu.Unlock()
		return deliverShare
	}
	if sender != 0 {
		c.addFromLocked(frame, sender, pooled)
	} else {
		c.addLocked(frame)
	}
	c.kickLocked()
	c.qmu.Unlock()
	return delivered
}

// queueOwn appends a response to the connection's own queue. Unlike enqueue, which other
// connections use and which never waits, it waits up to WriteTimeout for the writer to make
// room: a client that sends requests faster than it reads the answers slows down only itself
// (spec §5.8 [LIM-1]); one that stops reading is closed with 4002 (LIM-2).
func (c *conn) queueOwn(frame []byte) { c.queueOwnFrame(frame, false) }

// queueOwnFrame is queueOwn for a frame that pooled says came from the frame pool: it goes
// back once written.
func (c *conn) queueOwnFrame(frame []byte, pooled bool) {
	c.awaitInflight() // spec §5.5 [SRV-13]: earlier relays are answered first (pipeline.go)
	if c.holdOwn(frame, pooled) {
		return
	}
	var timer *time.Timer
	for {
		c.qmu.Lock()
		if c.isQuit() {
			c.qmu.Unlock()
			return
		}
		if !c.writing && c.pending == 0 && !c.finished && c.cork != nil {
			// Nothing waits and no writer runs: the reader writes its own answer itself,
			// rather than start a writer for it (LIM-2 lets a connection's own responses wait
			// for its socket, up to WriteTimeout).
			c.writing, c.pending, c.pendingB = true, 1, len(frame)
			c.qmu.Unlock()
			c.writeOwn(frame, pooled)
			return
		}
		if c.fitsLocked(len(frame)) {
			c.addOwnLocked(frame, pooled)
			c.kickLocked()
			c.qmu.Unlock()
			return
		}
		if c.room == nil {
			c.room = make(chan struct{})
		}
		room := c.room
		c.qmu.Unlock()
		if timer == nil {
			timer = time.NewTimer(c.s.cfg.WriteTimeout)
			defer timer.Stop()
		}
		select {
		case <-room:
		case <-c.quit:
			return
		case <-timer.C:
			c.s.metrics.QueueDrops.Inc()
			c.requestClose(CloseSlowConsumer, "slow consumer")
			return
		}
	}
}

// holdOwn queues a response without writing it yet while the reader holds more requests read
// already (or holds back answers to earlier ones): their answers then leave together, in one TLS record and one system call with
// whatever else is queued for this connection, when the reader has handled them and is about to
// read again (flushOwn). It reports false when the response must take queueOwn's way.
func (c *conn) holdOwn(frame []byte, pooled bool) bool {
	if c.frames.in.buffered() == 0 && !c.ownHeld {
		return false
	}
	c.qmu.Lock()
	defer c.qmu.Unlock()
	if c.isQuit() || c.finished || !c.fitsLocked(len(frame)) {
		return false
	}
	c.addOwnLocked(frame, pooled)
	if c.writing {
		c.kickLocked() // a writer runs or lingers: it takes the response with the rest
	} else {
		c.ownHeld = true
	}
	return true
}

// addOwnLocked adds a response of this connection's own, pooled or not. Callers hold qmu.
func (c *conn) addOwnLocked(frame []byte, pooled bool) {
	if pooled {
		c.addFromLocked(frame, 0, true)
	} else {
		c.addLocked(frame)
	}
}

// flushOwn writes the responses holdOwn queued, on the reader's goroutine as writeOwn does,
// unless a writer has taken the role meanwhile. The reader calls it before every read from the
// connection, so that nothing it holds waits for the client.
func (c *conn) flushOwn() {
	if !c.ownHeld {
		return
	}
	c.ownHeld = false
	c.qmu.Lock()
	if c.writing || c.finished || c.isQuit() || len(c.queue) == 0 {
		c.kickLocked()
		c.qmu.Unlock()
		return
	}
	c.writing = true
	batch, owners := c.queue, c.owners
	c.queue, c.owners = nil, nil
	ctl := c.takeControlsLocked()
	c.qmu.Unlock()
	err := c.writeTaken(batch, owners, ctl)
	c.releaseLocked(err)
}

// writeOwn writes frame on the calling goroutine, which has taken the writer's role, then
// hands over to a writer goroutine if something was queued meanwhile.
func (c *conn) writeOwn(frame []byte, pooled bool) {
	err := c.writeBatch([][]byte{frame}, controls{}, c.writeDeadline())
	if pooled {
		relayFrames.put(frame)
	}
	c.qmu.Lock()
	c.doneLocked(1, len(frame))
	c.releaseLocked(err)
}

// releaseLocked ends an inline write (writeOwn, pingTick): it hands the writer's role to a
// writer goroutine when something was queued meanwhile, or gives it up. It unlocks qmu.
func (c *conn) releaseLocked(err error) {
	if len(c.queue) > 0 || !c.due.none() || c.isQuit() {
		go c.writer() // c.writing stays true: the writer takes over
	} else {
		c.writing = false
		c.spare, c.spareOwners = nil, nil // an idle connection holds no queue storage
	}
	c.qmu.Unlock()
	if err != nil {
		c.abort()
	}
}

// writer writes what is queued, batch after batch, and returns when the queue has stayed empty
// for writerLinger; once the connection is closing it finishes it instead.
func (c *conn) writer() {
	var timer *time.Timer
	defer func() {
		if timer != nil {
			timer.Stop()
		}
	}()
	for {
		c.qmu.Lock()
		batch, owners := c.queue, c.owners
		c.queue, c.owners = nil, nil
		ctl := c.takeControlsLocked()
		if c.isQuit() {
			c.lingering = false
			c.qmu.Unlock()
			c.finish(batch)
			return
		}
		if len(batch) == 0 && ctl.none() {
			if c.wakeWriter == nil {
				c.wakeWriter = make(chan struct{}, 1)
			}
			c.lingering = true
			wake := c.wakeWriter
			c.qmu.Unlock()
			if timer == nil {
				timer = time.NewTimer(writerLinger)
			} else {
				timer.Reset(writerLinger)
			}
			select {
			case <-wake:
				continue // kickLocked ended the lingering
			case <-timer.C:
			}
			c.qmu.Lock()
			if c.lingering { // nothing came: exit
				c.lingering, c.writing, c.wakeWriter = false, false, nil
				if len(c.queue) == 0 { // an idle connection holds no queue storage
					c.queue, c.owners, c.owed, c.spare, c.spareOwners = nil, nil, nil, nil, nil
				}
				c.qmu.Unlock()
				return
			}
			c.qmu.Unlock()
			<-wake // a kick raced with the timer: take its token
			continue
		}
		c.qmu.Unlock()
		err := c.writeTaken(batch, owners, ctl)
		c.qmu.Unlock()
		if err != nil {
			c.abort() // the next round finishes
		}
	}
}

// takeControlsLocked returns the control frames due and clears them. Callers hold qmu.
func (c *conn) takeControlsLocked() controls {
	ctl := c.due
	c.due = controls{}
	return ctl
}

// writeTaken writes batch, taken from the queue with its owners, and the control frames ctl,
// then accounts for it: the queue's bytes, the senders' shares, the pooled frames and the
// storage go back. Callers do not hold qmu; writeTaken returns holding it.
func (c *conn) writeTaken(batch [][]byte, owners []uint64, ctl controls) error {
	size := 0
	for _, frame := range batch {
		size += len(frame)
	}
	c.owed = owedOf(c.owed, batch, owners)
	err := c.writeBatch(batch, ctl, c.writeDeadline())
	recycle(batch, owners, relayFrames.put)
	c.qmu.Lock()
	c.doneLocked(len(batch), size)
	c.unshareLocked(c.owed)
	c.reuseLocked(batch, owners)
	return err
}

// recycle gives the pooled frames of a written batch back to the frame pool; owners is the
// batch's (nil when no frame of it is pooled or counted).
func recycle(batch [][]byte, owners []uint64, put func([]byte)) {
	for i, o := range owners {
		if o&pooledFrame != 0 {
			put(batch[i])
		}
	}
}

// reuseLocked keeps the storage of a written batch for a next one (spare). Callers hold qmu.
func (c *conn) reuseLocked(batch [][]byte, owners []uint64) {
	clear(batch) // what was written is not kept alive
	if cap(batch) > 0 {
		c.spare = batch[:0]
	}
	if cap(owners) > 0 {
		c.spareOwners = owners[:0]
	}
}

// writeBatch writes frames and control frames corked, so that they leave in as few TLS records
// and system calls as fit. It keeps no reference to frames: the caller may reuse them.
func (c *conn) writeBatch(frames [][]byte, ctl controls, deadline time.Time) error {
	_ = c.cork.SetWriteDeadline(deadline)
	c.cork.cork()
	var err error
	for _, frame := range frames {
		if err = c.writeTextFrame(frame); err != nil {
			break
		}
	}
	if err == nil && ctl.pong {
		err = c.writeControlFrame(ws.OpPong, []byte(ctl.pongData))
	}
	if err == nil && ctl.ping {
		if err = c.writeControlFrame(ws.OpPing, nil); err == nil {
			c.pingsOut.Add(1)
		}
	}
	if uerr := c.cork.uncork(); err == nil {
		err = uerr
	}
	return err
}

// finish ends the writing of a closing connection: what is queued, then the close frame
// (spec §5.7 [ERR-2]: the error that explains a close is queued before it, so it is written
// first); a slow consumer (4002) gets only the close frame, and closeNoFrame nothing.
func (c *conn) finish(batch [][]byte) {
	defer func() {
		c.qmu.Lock()
		c.finished, c.writing, c.queue, c.pending, c.pendingB = true, false, nil, 0, 0
		c.owners, c.shares = nil, nil
		if c.room != nil {
			close(c.room)
			c.room = nil
		}
		c.qmu.Unlock()
		c.writerDone.Done()
	}()
	if c.closeCode == closeNoFrame {
		return
	}
	deadline := time.Now().Add(c.s.cfg.WriteTimeout)
	if c.closeCode != CloseSlowConsumer && len(batch) > 0 {
		if c.writeBatch(batch, controls{}, deadline) != nil {
			return
		}
	}
	// spec §5.9 [GSV-3], §5.5 [SES-3]: the connection has left its groups and chats (in a
	// cluster, every node's lists) before the client reads the close frame, so that what it
	// does next already finds it gone.
	c.bg.Wait()
	_ = c.cork.SetWriteDeadline(time.Now().Add(c.s.cfg.WriteTimeout))
	c.cork.cork() // the header and the body in one record
	_ = c.writeControlFrame(ws.OpClose, closeFrameBody(c.closeCode, c.closeText))
	_ = c.cork.uncork()
}

// startPings arms the keepalive: every PingInterval a ping is queued (spec §4.2 [WS-7]).
// The connection is tracked before it serves, so a shutdown may close it while it arms the
// timer: qmu orders the two, and a connection already closing is never armed.
func (c *conn) startPings() {
	c.qmu.Lock()
	defer c.qmu.Unlock()
	if !c.isQuit() {
		c.pinger = time.AfterFunc(c.s.cfg.PingInterval, c.pingTick)
	}
}

func (c *conn) pingTick() {
	if !c.sendControl(controls{ping: true}) {
		return
	}
	c.qmu.Lock()
	defer c.qmu.Unlock()
	if !c.isQuit() {
		c.pinger.Reset(c.s.cfg.PingInterval)
	}
}

// pong answers the client's ping with data. It never waits for the writer: a pong behind a
// full socket must not stop the reader, nor break the connection before the queue's own bounds
// close it with 4002 (spec §5.8 [LIM-2]).
func (c *conn) pong(data string) {
	c.sendControl(controls{pong: true, pongData: data})
}

// sendControl writes control frames: itself when no writer runs and nothing is queued, rather
// than start a writer for them, or else through the writer, after what is queued. It reports
// false when the connection is closing and nothing was sent.
func (c *conn) sendControl(ctl controls) bool {
	c.qmu.Lock()
	switch {
	case c.isQuit() || c.finished:
		c.qmu.Unlock()
		return false
	case !c.writing && c.pending == 0 && c.cork != nil:
		c.writing = true
		c.qmu.Unlock()
		err := c.writeBatch(nil, ctl, c.writeDeadline())
		c.qmu.Lock()
		c.releaseLocked(err)
	default:
		c.due.add(ctl)
		c.kickLocked()
		c.qmu.Unlock()
	}
	return true
}

// stopPings disarms the keepalive.
func (c *conn) stopPings() {
	c.qmu.Lock()
	p := c.pinger
	c.qmu.Unlock()
	if p != nil {
		p.Stop()
	}
}
