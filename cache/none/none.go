package none

import (
	"context"
	"fmt"
	"time"

	"github.com/sockudo-go/sockudo/cache"
)

// Cache discards every write. The zero value is ready to use, and it is safe
// for concurrent use.
type Cache struct{}

var _ cache.Cache = (*Cache)(nil)

// New returns a Cache.
func New() *Cache { return &Cache{} }

// Get reports cache.ErrNotFound for every key.
func (Cache) Get(ctx context.Context, key string) (cache.Entry, error) {
	if err := ctx.Err(); err != nil {
		return cache.Entry{}, fmt.Errorf("none cache: get: %w", err)
	}
	return cache.Entry{}, fmt.Errorf("none cache: get %q: %w", key, cache.ErrNotFound)
}

// Set discards value.
func (Cache) Set(ctx context.Context, key string, value []byte, ttl time.Duration) error {
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("none cache: set: %w", err)
	}
	return nil
}

// Add discards value and reports true, so that callers go ahead.
func (Cache) Add(ctx context.Context, key string, value []byte, ttl time.Duration) (bool, error) {
	if err := ctx.Err(); err != nil {
		return false, fmt.Errorf("none cache: add: %w", err)
	}
	return true, nil
}

// Delete does nothing.
func (Cache) Delete(ctx context.Context, key string) error {
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("none cache: delete: %w", err)
	}
	return nil
}
