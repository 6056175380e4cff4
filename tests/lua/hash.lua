-- hash.lua KERNEL DISK N [INPUT]: runs miniOS N instructions (with one
-- --input, as nestlab-run's) and prints what nestlab-run --state-hash prints.
local kernel, disk, n, input = ...
local m = nestlab.machine{kernel = kernel, disk = disk .. ",slave", serial = "none",
                          input = input}
local stop = m:run{insns = tonumber(n)}
print("stop " .. stop)
print("icount " .. m.icount)
print("state hash " .. m:state_hash())
print("console hash " .. m:console_hash())
