// A process whose only work is a store with its WAL checkpointer: it writes,
// shuts the store down and says so. Nothing else keeps its event loop alive,
// so if shutdown waited on something the loop does not count (an unref'd
// worker), the process would end before "closed" is printed.
import { Store } from '../../main/core/store'

const file = process.argv[2] as string
const store = Store.open(file)
store.checkpointInBackground(file)
store.transaction(() => store.events.append('test.probe', null, { pad: 'x'.repeat(4_000) }))
await store.shutdown()
process.stdout.write('closed\n')
