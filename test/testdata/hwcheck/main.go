// Command hwcheck drives package hw on real watchdog devices, inside the
// VM bed (test/vm_hw_test.go), and prints what it did on lines that start
// with "HW ". It pets every device for three timeouts, disarms them with
// the magic close and waits two timeouts, then opens them again and stops
// petting, so that they fire; then opens them again and fires them with
// Fire. The test reads the fires on the console.
package main

import (
	"fmt"
	"os"
	"time"

	"respawn/hw"
)

// timeout is the one every device is set to.
const timeout = 2 * time.Second

func main() { os.Exit(run(os.Args[1:])) }

func run(paths []string) int {
	devs, err := openAll(paths, true)
	if err != nil {
		fmt.Println("HW error:", err)
		return 1
	}
	fmt.Println("HW petting")
	for end := time.Now().Add(3 * timeout); time.Now().Before(end); time.Sleep(timeout / 4) {
		for i, d := range devs {
			if err := d.Keepalive(); err != nil {
				fmt.Printf("HW %s keepalive: %v\n", paths[i], err)
				return 1
			}
		}
	}
	fmt.Println("HW petted")
	for i, d := range devs {
		if err := d.Disarm(); err != nil {
			fmt.Printf("HW %s disarm: %v\n", paths[i], err)
			return 1
		}
	}
	fmt.Println("HW disarmed")
	time.Sleep(2*timeout + time.Second)
	fmt.Println("HW quiet")
	if stopPetting(paths) != 0 {
		return 1
	}
	return fire(paths)
}

// stopPetting opens the devices again, pets them once and waits long
// enough for both stages of an i6300esb to expire, holding them open.
func stopPetting(paths []string) int {
	devs, err := openAll(paths, false)
	if err != nil {
		fmt.Println("HW error:", err)
		return 1
	}
	fmt.Println("HW stop petting")
	time.Sleep(3*timeout + time.Second)
	fmt.Println("HW end")
	for _, d := range devs {
		d.Disarm()
	}
	return 0
}

// fire opens the devices again and fires them: they must fire once more,
// within a second or two, though closed.
func fire(paths []string) int {
	devs, err := openAll(paths, false)
	if err != nil {
		fmt.Println("HW error:", err)
		return 1
	}
	fmt.Println("HW fire")
	for i, d := range devs {
		if err := d.Fire(); err != nil {
			fmt.Printf("HW %s fire: %v\n", paths[i], err)
			return 1
		}
	}
	time.Sleep(timeout + time.Second)
	fmt.Println("HW fired")
	return 0
}

// openAll opens each device, sets its timeout and, when tell, prints its
// identity, options, boot status and the timeout applied.
// On an error it disarms the devices it opened.
func openAll(paths []string, tell bool) (devs []*hw.Device, err error) {
	defer func() {
		if err != nil {
			for _, d := range devs {
				d.Disarm()
			}
		}
	}()
	for _, p := range paths {
		d, err := hw.Open(p)
		if err != nil {
			return devs, err
		}
		devs = append(devs, d)
		applied, err := d.SetTimeout(timeout)
		if err == nil && tell {
			err = describe(p, d, applied)
		}
		if err != nil {
			return devs, fmt.Errorf("%s: %w", p, err)
		}
	}
	return devs, nil
}

func describe(path string, d *hw.Device, applied time.Duration) error {
	info, err := d.Info()
	if err != nil {
		return err
	}
	status, err := d.BootStatus()
	if err != nil {
		return err
	}
	// Adopt, as after a live upgrade, the descriptor d keeps.
	kept, err := hw.Adopt(d.FD())
	if err != nil {
		return err
	}
	now, err := kept.Timeout()
	if err != nil {
		return err
	}
	fmt.Printf("HW %s identity %q firmware %d magicclose %v settimeout %v keepaliveping %v\n",
		path, info.Identity, info.Firmware, info.MagicClose(), info.SetsTimeout(), info.KeepalivePing())
	fmt.Printf("HW %s timeout applied %v read when adopted %v bootstatus %#x cardreset %v\n",
		path, applied, now, status, hw.CardReset(status))
	return nil
}
