package server_test

import (
	"os"
	"testing"

	"github.com/neutrino-net/neutrino/internal/testenv/pgtest"
)

func TestMain(m *testing.M) { os.Exit(pgtest.Run(m)) }
