// testcontainers-node against Berth (run by test_network.py, which starts
// the daemon and a registry): two containers on a network, one reached by
// its alias from the other and through a mapped port with an HTTP wait
// strategy. Prints one JSON line with what it saw. Ryuk is disabled by the
// caller (the reaper has its own issue).
import { GenericContainer, Network, Wait } from 'testcontainers';

const image = process.env.BERTH_TEST_IMAGE;
const httpd = ['sh', '-c', 'mkdir -p /www && echo hello > /www/index.html && exec httpd -f -p 80 -h /www'];

const network = await new Network().start();
const server = await new GenericContainer(image)
  .withNetwork(network)
  .withNetworkAliases('web')
  .withExposedPorts(80)
  .withCommand(httpd)
  .withWaitStrategy(Wait.forHttp('/', 80))
  .start();
const client = await new GenericContainer(image).withNetwork(network).withCommand(['sleep', '60']).start();
const viaHost = await (await fetch(`http://${server.getHost()}:${server.getMappedPort(80)}/`)).text();
const viaAlias = await client.exec(['wget', '-qO-', 'http://web/']);
await client.stop({ timeout: 0 });
await server.stop({ timeout: 0 });
await network.stop();
console.log(JSON.stringify({ viaHost, viaAlias: viaAlias.output, aliasExit: viaAlias.exitCode }));
