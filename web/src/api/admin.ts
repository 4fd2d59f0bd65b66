// The admin panel's client: AdminService over the same gRPC-web transport (and operator
// token) as FrontdeskClient. Kept apart so that the widget bundle never contains admin code.

import { createClient, type Client, type Transport } from "@connectrpc/connect";

import { AdminService } from "../gen/frontdesk/admin/v1/admin_pb";
import type { FrontdeskClient } from "./client";

export { AdminService };

export function createAdminClient(from: FrontdeskClient | Transport): Client<typeof AdminService> {
  return createClient(AdminService, "transport" in from ? from.transport : from);
}
