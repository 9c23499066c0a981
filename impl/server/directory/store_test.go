package directory_test

import (
	"path/filepath"
	"testing"
	"time"

	"github.com/blindpost/blindpost/impl/server/directory"
	"github.com/blindpost/blindpost/impl/server/directory/storetest"
)

// TestStoreContract runs the directory.Store contract against the bbolt directory; the
// cluster's key-value store runs the same contract in its own package.
func TestStoreContract(t *testing.T) {
	storetest.Run(t, func(t *testing.T, maxUsers int, now func() time.Time) directory.Store {
		d, err := directory.Open(filepath.Join(t.TempDir(), directory.FileName), directory.Options{MaxUsers: maxUsers, Now: now})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { d.Close() })
		return d
	})
}
