-- session.lua KERNEL DISK: miniOS's shell session driven from a script.
-- Boots miniOS, waits for its prompt, types two commands, and prints what
-- the guest answered and what the monitor did meanwhile.
--
--   nestlab-run --script scripts/examples/session.lua \
--       build/guests/minios/minios.elf build/guests/minios/fs.img
local kernel, disk = ...
assert(kernel and disk, "usage: session.lua KERNEL DISK")

local m = nestlab.machine{kernel = kernel, disk = disk .. ",slave", serial = "none"}
local limit = {insns = 200000000}

assert(m:expect("$ ", limit), "no shell prompt")
local before = #m:console()
m:send("ls\n")
assert(m:expect("$ ", limit), "no prompt after ls")
print("ls said:")
io.write(m:console():sub(before + 1))
print()

m:send("halt\n")
local stop, status = m:run(limit)
print(("the guest ended: %s, exit status %s, after %d instructions"):format(stop,
      tostring(status), m.icount))
for _, vm in ipairs(m:vms()) do
	print(("VM %s (level %d): %d exits"):format(vm.name, vm.level, vm.exits))
end
print("state hash " .. m:state_hash())
