//go:build race

package hub

// spikeChannels is smaller under the race detector, which slows the
// server about tenfold; 40,000 still puts every shard above shrinkMinPeak.
const spikeChannels = 40_000
