// testcontainers-node with its reaper on (run by tests/kube/test_kube.py
// against the kube backend, RYUK_CONTAINER_IMAGE naming a stand-in that
// speaks ryuk's protocol): starts a container and exits without stopping
// it, leaving its removal to the reaper. Prints the container's id.
import { GenericContainer } from 'testcontainers';

const container = await new GenericContainer(process.env.BERTH_TEST_IMAGE).withCommand(['sleep', '300']).start();
console.log(JSON.stringify({ id: container.getId() }));
process.exit(0);
