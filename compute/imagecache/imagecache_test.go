package imagecache_test

import (
	"bytes"
	"context"
	"crypto/md5"
	"encoding/hex"
	"io"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"imagestack/compute/imagecache"
)

func TestOneDownloadForConcurrentBoots(t *testing.T) {
	c, err := imagecache.New(t.TempDir(), nil)
	if err != nil {
		t.Fatal(err)
	}
	data := bytes.Repeat([]byte("x"), 1<<20)
	sum := md5.Sum(data)
	var calls int
	var mu sync.Mutex
	download := func(ctx context.Context, w io.Writer) error {
		mu.Lock()
		calls++
		mu.Unlock()
		time.Sleep(50 * time.Millisecond) // let every caller pile up
		_, err := w.Write(data)
		return err
	}
	var wg sync.WaitGroup
	paths := make([]string, 10)
	for i := range paths {
		wg.Add(1)
		go func(i int) {
			defer wg.Done()
			p, err := c.Get(context.Background(), "img1", hex.EncodeToString(sum[:]), download)
			if err != nil {
				t.Error(err)
			}
			paths[i] = p
		}(i)
	}
	wg.Wait()
	if calls != 1 || c.Downloads() != 1 {
		t.Fatalf("%d downloads for 10 concurrent boots", calls)
	}
	got, _ := os.ReadFile(paths[9])
	if !bytes.Equal(got, data) {
		t.Fatal("cached data differs")
	}
	if _, err := c.Get(context.Background(), "img1", "", download); err != nil || calls != 1 {
		t.Fatal("a cached image was downloaded again")
	}
}

func TestChecksumMismatchRejected(t *testing.T) {
	dir := t.TempDir()
	c, _ := imagecache.New(dir, nil)
	_, err := c.Get(context.Background(), "img2", "00000000000000000000000000000000", func(ctx context.Context, w io.Writer) error {
		_, err := w.Write([]byte("tampered"))
		return err
	})
	if err == nil || !strings.Contains(err.Error(), "checksum") {
		t.Fatalf("mismatch: %v", err)
	}
	entries, _ := os.ReadDir(dir)
	if len(entries) != 0 {
		t.Fatalf("a rejected download left %d files", len(entries))
	}
}
