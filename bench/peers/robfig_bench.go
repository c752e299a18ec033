// Chained Next() through robfig/cron v3, the loop bench_cron runs: start at
// 2026-01-01T00:00:00Z, t = Next(t), start over at the zero time. Prints "name ns/op" or
// "name n/a" when robfig does not accept the expression (L, #, W are not part of its syntax).
package main

import (
	"bufio"
	"fmt"
	"os"
	"sort"
	"strings"
	"time"

	"github.com/robfig/cron" // v3, as Debian ships it (GOPATH mode)
)

var start = time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)

func measure(s cron.Schedule) float64 {
	t := start
	step := func(n int) {
		for i := 0; i < n; i++ {
			t = s.Next(t)
			if t.IsZero() {
				t = start
			}
		}
	}
	n := 1000
	for {
		b := time.Now()
		step(n)
		if time.Since(b) > 50*time.Millisecond {
			break
		}
		n *= 2
	}
	var runs []float64
	for r := 0; r < 7; r++ {
		b := time.Now()
		step(n)
		runs = append(runs, float64(time.Since(b).Nanoseconds())/float64(n))
	}
	sort.Float64s(runs)
	return runs[len(runs)/2]
}

func main() {
	parser := cron.NewParser(cron.SecondOptional | cron.Minute | cron.Hour | cron.Dom | cron.Month | cron.Dow)
	sc := bufio.NewScanner(os.Stdin)
	for sc.Scan() {
		line := sc.Text()
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		f := strings.Split(line, "|")
		s, err := parser.Parse("CRON_TZ=" + f[2] + " " + f[1])
		if err != nil {
			fmt.Printf("%s n/a\n", f[0])
			continue
		}
		fmt.Printf("%s %.1f\n", f[0], measure(s))
	}
}
