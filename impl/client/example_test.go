package client_test

import (
	"context"
	"fmt"
	"log"

	"github.com/blindpost/blindpost/impl/client"
	"github.com/blindpost/blindpost/impl/client/profile"
	"github.com/blindpost/blindpost/impl/client/tlstrust"
)

// This example shows the shape of a program on the library: dial, read the event stream,
// and act on it. It answers every chat request, and greets whoever it talks to.
func Example() {
	ctx := context.Background()
	root, _ := profile.Root("")
	p, _ := profile.Open(root, "echobot")
	key, err := p.LoadIdentity(func() (string, error) { return "", fmt.Errorf("no passphrase") })
	if err != nil {
		log.Fatal(err)
	}
	pin, _ := tlstrust.ParsePin("sha256:9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08")
	c, err := client.Dial(ctx, client.Options{
		URL:            "wss://127.0.0.1:8443/",
		User:           "echobot",
		Identity:       key,
		TLS:            tlstrust.Policy{Pin: &pin, Known: tlstrust.OpenKnownServers(p.Path(profile.KnownServers))},
		KnownPeersFile: p.Path(profile.KnownPeers),
	})
	if err != nil {
		log.Fatal(err)
	}
	defer c.Close()
	if err := c.JoinGroup(ctx, client.Broadcast); err != nil {
		log.Print(err)
	}
	for ev := range c.Events() {
		switch e := ev.(type) {
		case client.ChatRequestEvent:
			if err := c.Accept(ctx, e.Session); err != nil {
				log.Print(err) // a changed key is refused here (TRUST-2)
			}
		case client.SessionEvent:
			if e.State == client.SessionSecured {
				c.Send(ctx, e.Session, "hello, "+e.Peer+": this session is end-to-end encrypted")
			}
		case client.MessageEvent:
			c.Send(ctx, e.Session, "you said: "+e.Text)
		case client.GroupMessageEvent:
			log.Printf("[%s] %s: %s", e.Group, e.From, e.Text)
		case client.SecurityEvent:
			log.Print(e) // every rejection, with its outcome and rule (CLI-2)
		case client.ConnectionEvent:
			log.Printf("connection %s (attempt %d, delay %s, code %d)", e.State, e.Attempt, e.Delay, e.Code)
		}
	}
}
