//go:build !race

package hub

// spikeChannels is how many channels TestShardMapsShrinkAfterSpike opens.
const spikeChannels = 100_000
