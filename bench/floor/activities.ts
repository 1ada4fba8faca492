/** The floor's activity: does nothing, so that what an activity costs is Temporal's part alone. */

/** Built by a factory, as the payment's activities are (`createActivities`). */
export function createFloorActivities() {
  return {
    async floorStep(): Promise<void> {
      // No gateway, no vault: the round trip through Temporal is the whole cost.
    },
  };
}

export type FloorActivities = ReturnType<typeof createFloorActivities>;
